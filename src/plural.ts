/** "1 runner", "2 runners": counts in messages read as English. */
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
