#!/bin/sh
# Like the real env.sh: append a fixed list of variables to .env when set and absent, write $PATH to .path.
[ -f .env ] || touch .env
for var_name in LANG JAVA_HOME ANT_HOME M2_HOME ANDROID_HOME ANDROID_SDK_ROOT GRADLE_HOME NVM_BIN NVM_PATH LD_LIBRARY_PATH PERL5LIB; do
  eval "value=\${$var_name}"
  if [ -n "$value" ] && ! grep -q "^${var_name}=" .env; then
    echo "${var_name}=${value}" >> .env
  fi
done
echo "$PATH" > .path
