/** The container that runs a runner (docs/contract.md, "Ownership"). */
export function containerName(runnerName: string): string {
  return `runner-fleet-${runnerName}`;
}
