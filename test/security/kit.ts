import type { ExecutionContext } from 'ava';

/** Shared by the hostile-job suites: what a hostile job runs, and how its output is read. */

/** One HTTP call from inside a job with node (runner images have node, not always curl): prints `label=<status> <seconds>`. */
export const nodeHttp = (label: string, method: string, url: string): string =>
  `node -e 'const t=Date.now();fetch(process.argv[1],{method:process.argv[2],body:process.argv[2]==="POST"?"{}":undefined,signal:AbortSignal.timeout(5000)}).then(r=>console.log("${label}="+r.status+" "+(Date.now()-t)/1000),()=>console.log("${label}=000 5"))' ${url} ${method}`;

/**
 * Six timed GETs from one node process, half a second apart, after an untimed warm-up: the first
 * fetch() loads undici, which on a loaded 2-core host alone can take a second.
 */
export const healthzProbes = (url: string): string =>
  `node -e 'const u=process.argv[1];const get=()=>fetch(u,{signal:AbortSignal.timeout(5000)}).then(r=>r.status,()=>0);(async()=>{await get();for(let i=0;i<6;i++){const t=Date.now();const s=await get();console.log("healthz="+(s||"000")+" "+(s?(Date.now()-t)/1000:5));await new Promise(r=>setTimeout(r,500))}})()' ${url}`;

/** The job's step: point its runner's `.runner` at another registration (cwd is {root}/_work). */
export const rewriteAgentId = (id: number): string =>
  `sed -i -E 's/"agentId"[[:space:]]*:[[:space:]]*[0-9]+/"agentId": ${id}/' ../.runner && grep -o '"agentId": *[0-9]*' ../.runner`;

/**
 * Drain and deregister-all over the host loopback, `.runner` pointed at `foreignId`, the hook
 * file turned into a FIFO, then /healthz timed six times from the job's own process; finally
 * the FIFO opened for writing (at most a second): what would free a daemon blocked reading it.
 */
export function hostileScript(base: string, foreignId: number): string {
  return [
    'id -un',
    nodeHttp('drain', 'POST', `${base}/api/v1/drain`),
    nodeHttp('deregister', 'POST', `${base}/api/v1/deregister-all`),
    rewriteAgentId(foreignId),
    'rm -f ../.rf/job; mkfifo ../.rf/job',
    healthzProbes(`${base}/healthz`),
    'if [ -p ../.rf/job ]; then timeout 1 sh -c \'echo "{}" > ../.rf/job\' || true; fi',
  ].join('\n');
}

export function healthProbes(output: string): { status: number; seconds: number }[] {
  return [...output.matchAll(/healthz=(\d+) ([\d.]+)/g)].map((m) => ({ status: Number(m[1]), seconds: Number(m[2]) }));
}

/** What hostileScript's output must show: both control calls refused, /healthz answered six times within 2 s. */
export function assertHostileRefused(t: ExecutionContext, output: string): void {
  t.regex(output, /drain=403/);
  t.regex(output, /deregister=403/);
  const probes = healthProbes(output);
  t.is(probes.length, 6, output);
  t.true(probes.every((p) => p.status === 200 && p.seconds < 2), output);
  t.log(`slowest /healthz while vandalised: ${Math.max(...probes.map((p) => p.seconds)) * 1000} ms`);
}
