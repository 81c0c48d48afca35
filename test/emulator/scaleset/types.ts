import type { ScaleSetStatistics } from '../../../src/github/scaleset/types.js';

/** The emulator's runner scale sets: options, what tests can inspect, and the faults they can inject. */
export interface ScaleSetOptions {
  /** GHES behaviour: jobs come as JobAvailable and wait until acquired (github.com assigns directly). */
  ghes?: boolean;
  /** How long the service holds a long poll with nothing to say before 202. Default 50 s. */
  holdMs?: number;
  /** A session with no open poll stays alive (new sessions get 409) this long. Default 50 s. */
  sessionExpiryMs?: number;
  /** Lifetime of a session's message-queue token. Default 1 h. */
  queueTokenTtlMs?: number;
}

/** The statistics the service reports: the product's own wire shape. */
export type ScaleSetStats = ScaleSetStatistics;

export interface ScaleSetInfo {
  id: number;
  name: string;
  scopeKey: string;
  runnerGroupId: number;
  labels: string[];
  /** Owner of the live session, or null. */
  sessionOwner: string | null;
  /** Every X-ScaleSetMaxCapacity the client sent, in order (-1: header missing). */
  advertised: number[];
  statistics: ScaleSetStats;
  messages: { messageId: number; items: number; deliveries: number; acked: boolean }[];
  polls: number;
  sessionsCreated: number;
  conflicts: number;
}

export interface ScaleSetsApi {
  list(): ScaleSetInfo[];
  get(name: string): ScaleSetInfo | undefined;
  /** Jobs queued while the set advertised capacity 0: GitHub never assigns them. */
  stranded(): number[];
  /** Delete a scale set as GitHub does after 7 days without a session. */
  remove(name: string): boolean;
  faults: {
    /** The next n long polls answer 200 with an empty body. */
    emptyNext(n: number): void;
    /** The next n long polls answer 200 with a body that is not JSON. */
    malformedNext(n: number): void;
    /** Every current message-queue token expires now (the next poll gets 401). */
    expireQueueTokens(): void;
    /** Every admin token expires now (service calls get 401 until a new connection). */
    expireAdminTokens(): void;
    /** While on, long polls are held and never answered (a stuck proxy); off releases them with 202. */
    hangPolls(on: boolean): void;
  };
}
