export interface ProcessPlan {
  kind: 'process';
  user: string;
}

export function processPlan(): { backend: ProcessPlan; warnings: string[] } {
  return { backend: { kind: 'process', user: "the daemon's user" }, warnings: [] };
}

export function processPlanRows(b: ProcessPlan): Array<[string, string]> {
  return [['backend', `child process of the daemon, as ${b.user}`]];
}
