/** The unit that runs a runner (docs/contract.md, "Ownership"). */
export function unitName(runnerName: string): string {
  return `runner-fleet-${runnerName}.service`;
}
