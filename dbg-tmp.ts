import { startSystemdHost } from './test/helpers/systemd-host.js';
const sd = await startSystemdHost();
console.log(sd.id);
const cmds = [
  `useradd --system --user-group runner; systemd-run --wait --pipe --quiet -p User=root -p NoNewPrivileges=yes -p 'CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_CHOWN CAP_DAC_OVERRIDE CAP_FOWNER CAP_KILL' -p ProtectSystem=strict -p PrivateTmp=yes -p ProtectProc=invisible -p 'SystemCallFilter=@system-service' -p 'SystemCallFilter=~@privileged @resources' -p SystemCallErrorNumber=EPERM -p 'SystemCallFilter=@chown @setuid capset' -p RestrictNamespaces=yes -p 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' -p ProtectControlGroups=yes -- /usr/bin/systemd-run --scope --quiet --collect --unit=rf-process-x.scope -- /usr/bin/setpriv --reuid=$(id -u runner) --regid=$(id -g runner) --init-groups -- /bin/sh -c 'id; cat /proc/self/cgroup'; echo rc=$?`,
];
for (const c of cmds) { const r = await sd.exec(['bash', '-c', c]); console.log(r.code, r.stdout, r.stderr); }
