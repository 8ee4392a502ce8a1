/** One argument for `sh -c`: as it is when it holds nothing the shell reads, else single-quoted. */
export function shellQuote(s: string): string {
  return /^[\w./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
