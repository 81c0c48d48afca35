import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { readBody } from './body.js';
import type { ApiDeps } from './deps.js';
import { header, json, refuse, tooLarge } from './http-util.js';
import type { gate } from './limits.js';
import { parseWorkflowJob, verifySignature } from './webhook.js';

/**
 * POST /webhook: signed workflow_job deliveries, a bounded number read at once, deduplicated,
 * answered 202 before the reconciler is told.
 */
export function webhookRoute(
  deps: Pick<ApiDeps, 'webhookSecret' | 'metrics' | 'seenDelivery' | 'seenJobEvent' | 'onWorkflowJob'>,
  webhooks: ReturnType<typeof gate>,
  log: Logger,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  async function webhook(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!deps.webhookSecret) return json(res, 404, { error: 'not found' });
    // Refused before a byte of the body is read: buffered bodies stay under the cap.
    if (!webhooks.enter()) {
      deps.metrics.webhookDelivery('overloaded');
      res.setHeader('Retry-After', '1');
      return refuse(req, res, 503, 'busy: too many webhook deliveries at once');
    }
    try {
      await readWebhook(req, res, deps.webhookSecret);
    } finally {
      webhooks.leave();
    }
  }

  async function readWebhook(req: IncomingMessage, res: ServerResponse, secret: string): Promise<void> {
    const body = await readBody(req);
    if (!body.ok) {
      if (body.reason === 'aborted') return void req.destroy();
      deps.metrics.webhookDelivery('too_large');
      return tooLarge(req, res);
    }
    if (!(await verifySignature(secret, body.body, header(req, 'x-hub-signature-256')))) {
      deps.metrics.webhookDelivery('bad_signature');
      return json(res, 401, { error: 'bad signature' });
    }
    const event = header(req, 'x-github-event');
    if (event === 'ping') {
      deps.metrics.webhookDelivery('ping');
      return json(res, 200, { ok: true });
    }
    if (event !== 'workflow_job') {
      deps.metrics.webhookDelivery('ignored');
      return json(res, 202, { ignored: true });
    }
    const deliveryId = header(req, 'x-github-delivery') ?? '';
    const parsed = parseWorkflowJob(body.body, deliveryId, header(req, 'content-type'));
    if (!parsed) {
      deps.metrics.webhookDelivery('invalid');
      return json(res, 400, { error: 'not a workflow_job payload' });
    }
    // Parsed before recording the id, so a delivery we could not read may be redelivered.
    if ((deliveryId && deps.seenDelivery(deliveryId)) || deps.seenJobEvent?.(`${parsed.job.id}:${parsed.action}`)) {
      deps.metrics.webhookDelivery('duplicate');
      return json(res, 202, { duplicate: true });
    }
    deps.metrics.webhookDelivery('accepted');
    json(res, 202, { accepted: true });
    log.debug({ deliveryId, action: parsed.action, job: parsed.job.id }, 'workflow_job accepted');
    setImmediate(() => {
      Promise.resolve()
        .then(() => deps.onWorkflowJob(parsed))
        .catch((err: unknown) => log.error({ err: describeError(err), deliveryId }, 'workflow_job handler failed'));
    });
  }

  return webhook;
}
