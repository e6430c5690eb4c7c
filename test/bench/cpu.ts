import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * CPU time of a group of processes, including the children they fork and reap (Postfix's smtpd,
 * cleanup, qmgr, smtp, …): a cgroup v1 `cpuacct` group when the machine lets us make one (root),
 * else cgroup v2, else /proc for the process alone (a single Node process, like the relay).
 */
export interface CpuMeter {
  /** CPU seconds used so far by every process in the group. */
  seconds(): number;
  /** Moves a running process (and its threads) into the group; later forks follow it. */
  add(pid: number): void;
  /** The group's cgroup.procs file: a shell that writes `$$` there before `exec` starts inside it. */
  procsFile?: string;
  how: 'cgroup v1 cpuacct' | 'cgroup v2' | '/proc';
  close(): void;
}

const V1 = '/sys/fs/cgroup/cpuacct';
const V2 = '/sys/fs/cgroup';

function tryCgroup(name: string): CpuMeter | undefined {
  const base = `fairsend-bench-${name}-${process.pid}`;
  try {
    const dir = join(V1, base);
    mkdirSync(dir);
    readFileSync(join(dir, 'cpuacct.usage'), 'utf8');
    return {
      how: 'cgroup v1 cpuacct',
      procsFile: join(dir, 'cgroup.procs'),
      seconds: () => Number(readFileSync(join(dir, 'cpuacct.usage'), 'utf8')) / 1e9,
      add: (pid) => writeFileSync(join(dir, 'cgroup.procs'), String(pid)),
      close: () => removeGroup(dir, join(V1, 'cgroup.procs')),
    };
  } catch {}
  try {
    if (!readFileSync(join(V2, 'cgroup.controllers'), 'utf8').includes('cpu')) return undefined;
    const dir = join(V2, base);
    mkdirSync(dir);
    const usage = () => {
      const line = readFileSync(join(dir, 'cpu.stat'), 'utf8')
        .split('\n')
        .find((l) => l.startsWith('usage_usec'));
      return Number(line?.split(' ')[1]) / 1e6;
    };
    usage();
    return {
      how: 'cgroup v2',
      procsFile: join(dir, 'cgroup.procs'),
      seconds: usage,
      add: (pid) => writeFileSync(join(dir, 'cgroup.procs'), String(pid)),
      close: () => removeGroup(dir, join(V2, 'cgroup.procs')),
    };
  } catch {}
  return undefined;
}

/** Moves whatever is still in the group back to the root, then removes the group. */
function removeGroup(dir: string, rootProcs: string): void {
  try {
    for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean))
      writeFileSync(rootProcs, pid);
    rmdirSync(dir);
  } catch {}
}

/** CPU seconds of one process (user + system, and its reaped children) from /proc. */
export function procSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const tick = 100;
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / tick;
  } catch {
    return Number.NaN;
  }
}

/** A meter for the named group; falls back to /proc of the processes added (and their live children). */
export function cpuMeter(name: string): CpuMeter {
  const group = tryCgroup(name);
  if (group) return group;
  const pids: number[] = [];
  const tree = (root: number): number[] => {
    const all = [root];
    for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
      try {
        const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
        if (ppid === root) all.push(Number(entry));
      } catch {}
    }
    return all;
  };
  return {
    how: '/proc',
    seconds: () => pids.flatMap(tree).reduce((sum, pid) => sum + procSeconds(pid), 0),
    add: (pid) => pids.push(pid),
    close: () => {},
  };
}
