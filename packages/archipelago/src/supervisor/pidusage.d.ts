// Types for the `pidusage` package, which ships none.
declare module 'pidusage' {
  interface Stat { cpu: number; memory: number; ppid: number; pid: number; ctime: number; elapsed: number; timestamp: number }
  function pidusage(pids: number[]): Promise<Record<number, Stat | undefined>>;
  function pidusage(pid: number): Promise<Stat>;
  namespace pidusage { function clear(): void }
  export default pidusage;
}
