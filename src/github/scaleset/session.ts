import { FleetError, isFleetError } from '../../errors.js';
import { actionsCall, parseJson, serviceError, type ActionsAnswer, type ActionsHttp } from './http.js';
import { mapMessage } from './map.js';
import type { QueueMessage, ScaleSetSession } from './types.js';

/** What a queue session needs of the client that opened it (the client builds sessions, so not the client type itself). */
export interface SessionClient {
  readonly http: ActionsHttp;
  refreshSession(s: Pick<ScaleSetSession, 'scaleSetId' | 'sessionId'>): Promise<ScaleSetSession>;
  deleteSession(s: Pick<ScaleSetSession, 'scaleSetId' | 'sessionId'>): Promise<void>;
  acquireJobs(s: Pick<ScaleSetSession, 'scaleSetId' | 'messageQueueAccessToken'>, requestIds: number[]): Promise<number[]>;
}

/** Header that tells the service how many runners this client could start (never 0: see README). */
export const MAX_CAPACITY_HEADER = 'X-ScaleSetMaxCapacity';

/**
 * A message session of one scale set: the long poll, acknowledgements and job acquisition, all
 * with the session's message-queue token, refreshed (PATCH) once when the queue answers 401.
 */
export class QueueSession {
  refreshes = 0;

  constructor(
    private readonly client: SessionClient,
    public session: ScaleSetSession,
  ) {}

  get id(): string {
    return this.session.sessionId;
  }

  async refresh(): Promise<void> {
    this.session = await this.client.refreshSession(this.session);
    this.refreshes++;
  }

  private async queueCall(method: 'GET' | 'DELETE', url: string, route: string, headers: Record<string, string>, signal?: AbortSignal): Promise<ActionsAnswer> {
    for (let n = 0; ; n++) {
      const a = await actionsCall(this.client.http, {
        method, url, route, authorization: `Bearer ${this.session.messageQueueAccessToken}`, headers, signal, retry: method !== 'GET',
      });
      if (a.status !== 401) return a;
      if (n > 0) throw new FleetError('SCALESET_QUEUE_EXPIRED', 'the message-queue token was refused after a refresh', { cause: serviceError('message queue', a) });
      await this.refresh();
    }
  }

  /**
   * One long poll. null when the service had nothing (202); SCALESET_BAD_MESSAGE for an empty or
   * malformed 200, which the caller retries.
   */
  async getMessage(lastMessageId: number, maxCapacity: number, signal?: AbortSignal): Promise<QueueMessage | null> {
    const u = new URL(this.session.messageQueueUrl);
    if (lastMessageId > 0) u.searchParams.set('lastMessageId', String(lastMessageId));
    const a = await this.queueCall('GET', u.toString(), '/{messageQueue}', { [MAX_CAPACITY_HEADER]: String(maxCapacity) }, signal);
    if (a.status === 202 || a.status === 204) return null;
    if (a.status !== 200) throw serviceError('get message', a);
    return mapMessage(parseJson('get message', a));
  }

  async deleteMessage(messageId: number): Promise<void> {
    const u = new URL(this.session.messageQueueUrl);
    u.pathname = `${u.pathname.replace(/\/+$/, '')}/${messageId}`;
    const a = await this.queueCall('DELETE', u.toString(), '/{messageQueue}/{messageId}', {});
    if (a.status !== 200 && a.status !== 204 && a.status !== 404) throw serviceError(`acknowledge message ${messageId}`, a);
  }

  async acquireJobs(requestIds: number[]): Promise<number[]> {
    if (requestIds.length === 0) return [];
    try {
      return await this.client.acquireJobs(this.session, requestIds);
    } catch (err) {
      if (!isFleetError(err, 'SCALESET_QUEUE_EXPIRED')) throw err;
      await this.refresh();
      return this.client.acquireJobs(this.session, requestIds);
    }
  }

  async close(): Promise<void> {
    await this.client.deleteSession(this.session);
  }
}

