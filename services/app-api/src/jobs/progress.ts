// A progress bar on stderr (redrawn in place on a terminal, one line per stage otherwise).
export function progressBar(out: NodeJS.WriteStream = process.stderr) {
  const started = Date.now();
  return (stage: string, done: number, total: number) => {
    const width = 30;
    const filled = total ? Math.round((done / total) * width) : width;
    const pct = total ? Math.floor((done / total) * 100) : 100;
    const line = `${stage.padEnd(9)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}% ${done.toLocaleString('en')}/${total.toLocaleString('en')} ${((Date.now() - started) / 1000).toFixed(1)}s`;
    if (out.isTTY) {
      out.write(`\r${line}`);
      if (done === total) out.write('\n');
    } else if (done === total) {
      out.write(`${line}\n`);
    }
  };
}
