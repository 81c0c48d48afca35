/** Our arch names, as GitHub spells them in runners/downloads and runner labels. */
export { hostArch, type Arch as RunnerArch } from '../config/names.js';

/** Fill `{version}`, `{os}`, `{arch}` in a URL or path template. */
export function expandTemplate(tpl: string, vars: { version: string; os?: string; arch: string }): string {
  return tpl
    .replaceAll('{version}', vars.version)
    .replaceAll('{os}', vars.os ?? 'linux')
    .replaceAll('{arch}', vars.arch);
}
