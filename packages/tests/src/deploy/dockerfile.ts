import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, posix, relative } from 'node:path';
import type { Ignore } from '@balena/dockerignore';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';

// The package is CommonJS (`module.exports = factory`) with types written as an ES default export.
const dockerignore = createRequire(import.meta.url)('@balena/dockerignore') as () => Ignore;

/** The build context's .dockerignore, matched as Docker matches it (@balena/dockerignore). */
export function readDockerignore(context: string): Ignore {
  return dockerignore().add(readFileSync(join(context, '.dockerignore'), 'utf8'));
}

/** One instruction of a stage, as far as the tests need it. */
export interface Step {
  keyword: string;
  /** Arguments without flags, variables not expanded. */
  args: string[];
  /** `--name=value` flags: `{ from: 'build', mount: 'type=cache,…' }`. */
  flags: Record<string, string>;
  /** The raw argument text (a RUN's shell command). */
  text: string;
  line: number;
}

export interface Stage {
  name: string | undefined;
  /** The FROM's image, `${ARG}`s expanded from the file's initial ARG defaults. */
  image: string;
  steps: Step[];
}

export interface ParsedDockerfile {
  stages: Stage[];
  /** The last stage: what `docker build` produces. */
  final: Stage;
  step(stage: Stage, keyword: string): Step | undefined;
  steps(stage: Stage, keyword: string): Step[];
}

function flagsOf(instruction: Instruction): Record<string, string> {
  const flags = (instruction as { getFlags?: () => { getName(): string; getValue(): string | null }[] }).getFlags?.() ?? [];
  return Object.fromEntries(flags.map((f) => [f.getName(), f.getValue() ?? '']));
}

/** Parses a Dockerfile (dockerfile-ast) into stages of steps. */
export function parseDockerfile(text: string): ParsedDockerfile {
  const file = DockerfileParser.parse(text);
  const args = new Map<string, string>();
  for (const arg of file.getInitialARGs()) {
    const property = arg.getProperty();
    if (property) args.set(property.getName(), property.getValue() ?? '');
  }
  const expand = (s: string) => s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a: string, b: string) => args.get(a ?? b) ?? '');
  const stages: Stage[] = [];
  for (const instruction of file.getInstructions()) {
    const keyword = instruction.getKeyword();
    const values = instruction.getArguments().map((a) => a.getValue());
    if (keyword === 'FROM') {
      const as = values.findIndex((v) => v.toUpperCase() === 'AS');
      stages.push({ name: as >= 0 ? values[as + 1] : undefined, image: expand(values[0] ?? ''), steps: [] });
      continue;
    }
    stages.at(-1)?.steps.push({
      keyword,
      args: values,
      flags: flagsOf(instruction),
      text: instruction.getArgumentsContent() ?? '',
      line: instruction.getRange().start.line + 1,
    });
  }
  if (stages.length === 0) throw new Error('Dockerfile: no FROM');
  return {
    stages,
    final: stages.at(-1)!,
    step: (stage, keyword) => stage.steps.find((s) => s.keyword === keyword),
    steps: (stage, keyword) => stage.steps.filter((s) => s.keyword === keyword),
  };
}

/** The exec-form command of a CMD or `HEALTHCHECK … CMD [...]` step; throws on the shell form. */
export function execForm(step: Step): string[] {
  const json = step.keyword === 'HEALTHCHECK' ? step.text.replace(/^\s*CMD\s+/i, '') : step.text;
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed) || parsed.some((s) => typeof s !== 'string')) throw new Error(`line ${step.line}: not an exec form: ${step.text}`);
  return parsed as string[];
}

export interface StageRun {
  /** Where the stage's WORKDIR lies on this machine. */
  workdir: string;
  env: Record<string, string>;
  user: string | undefined;
}

/**
 * Carries out a stage's steps on this machine, as `docker build` would inside the image:
 * WORKDIR is `root` (one working directory per stage is all the image uses), COPY from the
 * build context honours .dockerignore, COPY --from=<stage> reads `stageDirs[stage]` (an already
 * built tree laid out as that stage's WORKDIR), ENV and USER are recorded, RUN runs in a shell
 * with `runEnv` added (for instance npm's offline cache settings).
 */
export async function runStage(
  stage: Stage,
  options: { context: string; root: string; stageDirs: Record<string, string>; runEnv?: Record<string, string>; log?: (line: string) => void },
): Promise<StageRun> {
  const ignore = readDockerignore(options.context);
  let workdir: string | undefined;
  const env: Record<string, string> = {};
  let user: string | undefined;
  const here = () => {
    if (!workdir) throw new Error('a step before WORKDIR');
    return workdir;
  };
  for (const step of stage.steps) {
    switch (step.keyword) {
      case 'WORKDIR':
        workdir = options.root;
        mkdirSync(workdir, { recursive: true });
        break;
      case 'ENV':
        for (const pair of step.args) {
          const eq = pair.indexOf('=');
          env[pair.slice(0, eq)] = pair.slice(eq + 1).replace(/^"(.*)"$/, '$1');
        }
        break;
      case 'USER':
        user = step.args[0];
        break;
      case 'COPY': {
        const sources = step.args.slice(0, -1);
        const dest = join(here(), step.args.at(-1)!);
        const from = step.flags.from;
        for (const source of sources) {
          const base = from === undefined ? options.context : options.stageDirs[from];
          if (base === undefined) throw new Error(`line ${step.line}: no directory for stage ${from}`);
          // An absolute path of another stage is under its WORKDIR (/app): the tree given for it.
          const path = join(base, from === undefined ? source : posix.relative('/app', source));
          const target = step.args.at(-1)!.endsWith('/') ? join(dest, posix.basename(source)) : dest;
          copyFiltered(path, target, from === undefined ? (p) => ignore.ignores(relative(options.context, p)) : () => false);
        }
        break;
      }
      case 'RUN':
        await run(step.text, here(), { ...env, ...options.runEnv }, options.log);
        break;
      default:
        break;
    }
  }
  return { workdir: here(), env, user };
}

function copyFiltered(source: string, target: string, ignored: (path: string) => boolean): void {
  if (ignored(source)) throw new Error(`${source} is excluded by .dockerignore but the Dockerfile copies it`);
  statSync(source);
  mkdirSync(dirname(target), { recursive: true });
  cpSync(source, target, { recursive: true, filter: (p) => p === source || !ignored(p) });
}

function run(command: string, cwd: string, env: Record<string, string>, log?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      log?.(`RUN ${command}\n${output}`);
      if (code === 0) resolve();
      else reject(new Error(`RUN ${command} exited with ${code}:\n${output.slice(-3000)}`));
    });
  });
}
