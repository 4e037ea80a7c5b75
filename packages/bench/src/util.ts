export const round = (n: number, digits = 2): number => Number(n.toFixed(digits));
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
