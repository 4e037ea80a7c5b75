// CPU time and memory of another process, read from /proc (Linux only).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond = 0;
function clockTicks(): number {
  if (ticksPerSecond === 0) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User plus system CPU time the process has used, in microseconds (resolution: one clock tick). */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces and parentheses; fields are counted after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks / clockTicks()) * 1e6;
}

export interface Memory {
  /** Resident set size now, in KiB. */
  rssKb: number;
  /** Peak resident set size (VmHWM), in KiB. */
  peakKb: number;
}

export function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rssKb: field('VmRSS'), peakKb: field('VmHWM') };
}

/** Sum of `memory` over processes. */
export function totalMemory(pids: number[]): Memory {
  const sum: Memory = { rssKb: 0, peakKb: 0 };
  for (const pid of pids) {
    const m = memory(pid);
    sum.rssKb += m.rssKb;
    sum.peakKb += m.peakKb;
  }
  return sum;
}

/** Sum of `cpuMicros` over processes, skipping any that has exited. */
export function totalCpuMicros(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += cpuMicros(pid);
    } catch {
      // exited: its time is no longer readable
    }
  }
  return sum;
}

export interface CoreTime {
  /** User, nice, system, irq, softirq and steal time, in microseconds. */
  busy: number;
  /** User, nice and system time only: what processes account for (no interrupt work). */
  tasks: number;
}

/**
 * Time one CPU has spent, from /proc/stat. `busy` includes the kernel's network processing
 * (softirq), which on loopback runs on the sending core and is charged to no process.
 */
export function coreTime(core: number): CoreTime {
  const line = new RegExp(`^cpu${core} (.*)$`, 'm').exec(readFileSync('/proc/stat', 'utf8'))?.[1];
  if (!line) return { busy: 0, tasks: 0 };
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  const micros = (ticks: number) => (ticks / clockTicks()) * 1e6;
  return { busy: micros(user + nice + system + irq + softirq + (steal || 0)), tasks: micros(user + nice + system) };
}
