/** A tool present and verified in `{dataDir}/tools/{name}/{version}/{arch}/`. */
export interface InstalledTool {
  name: string;
  version: string;
  arch: string;
  /** The directory put on the runner's PATH. */
  dir: string;
  /** Absolute path of the executable. */
  binPath: string;
  /** SHA-256 of the installed executable (tamper checks). */
  sha256: string;
  versionOutput: string | null;
  /** false when it was already installed and verified (no network). */
  downloaded?: boolean;
}
