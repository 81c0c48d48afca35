import cliProgress from 'cli-progress';
import type { Progress } from '../net/download.js';

export interface ProgressSink {
  onProgress: (p: Progress) => void;
  /** Finish the current bar (call before printing anything else). */
  stop(): void;
}

/**
 * A progress bar per download on a TTY; on anything else (journald, CI logs) one plain line
 * per quarter so logs stay readable.
 */
export function progressSink(stream: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean }): ProgressSink {
  if (stream.isTTY && 'columns' in stream) return ttySink(stream as NodeJS.WriteStream);
  let label = '';
  let lastQuarter = -1;
  return {
    onProgress(p) {
      if (p.label !== label) {
        label = p.label;
        lastQuarter = -1;
        stream.write(`${p.label}: downloading${p.total ? ` ${mb(p.total)}` : ''}\n`);
      }
      if (!p.total) return;
      const q = Math.floor((p.received / p.total) * 4);
      if (q > lastQuarter && q > 0) {
        lastQuarter = q;
        stream.write(`${p.label}: ${q * 25}%\n`);
      }
    },
    stop() {
      label = '';
    },
  };
}

function ttySink(stream: NodeJS.WriteStream): ProgressSink {
  let bar: cliProgress.SingleBar | null = null;
  let label = '';
  const stop = () => {
    bar?.stop();
    bar = null;
    label = '';
  };
  return {
    onProgress(p) {
      if (p.label !== label) {
        stop();
        label = p.label;
        bar = new cliProgress.SingleBar(
          { stream, format: `${p.label} [{bar}] {percentage}% | {mb}`, hideCursor: true, clearOnComplete: false },
          cliProgress.Presets.shades_classic,
        );
        bar.start(p.total ?? 0, 0, { mb: mb(p.received) });
      }
      bar?.update(p.received, { mb: mb(p.received) });
    },
    stop,
  };
}

const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
