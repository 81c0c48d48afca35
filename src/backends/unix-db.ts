import { readFileSync } from 'node:fs';

/**
 * The rows of /etc/passwd or /etc/group, fields split on ':'; none when the file cannot be read.
 * Read from the file, not NSS: the users runner-fleet deals with are local system users.
 */
export function unixDbRows(file: string): string[][] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter(Boolean).map((line) => line.split(':'));
}
