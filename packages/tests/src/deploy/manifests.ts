import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

/** The repository root, where the Dockerfile, docker-compose.yml and k8s/ are. */
export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export const readRoot = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** A Kubernetes object as parsed from YAML: only what the checks read is typed. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  /** The file it came from. */
  file: string;
}

/** Every document of every k8s/*.yaml file; a YAML error names the file. */
export function loadManifests(): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const file of readdirSync(join(ROOT, 'k8s')).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    for (const doc of parseAllDocuments(readRoot(`k8s/${file}`))) {
      if (doc.errors.length > 0) throw new Error(`k8s/${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const value = doc.toJS() as Omit<K8sObject, 'file'> | null;
      if (value) objects.push({ ...value, file: `k8s/${file}` });
    }
  }
  return objects;
}

/** The one object of this kind and name; fails the test when there is none. */
export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in k8s/`);
  return found;
}

/** Whether `selector` (matchLabels or a Service's plain map) selects pods labelled `labels`. */
export function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/**
 * The environment a container of `pod` (a pod template spec) gets from its `env` and `envFrom`,
 * with the ConfigMaps' and Secrets' values.
 */
export function containerEnv(objects: K8sObject[], container: any): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, find(objects, 'ConfigMap', from.configMapRef.name).data);
    if (from.secretRef) {
      const secret = find(objects, 'Secret', from.secretRef.name);
      const decoded = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
      Object.assign(env, decoded, secret.stringData);
    }
  }
  for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = String(e.value);
  // envFrom also carries keys that are not variable names (herald.yaml): not in the environment.
  return Object.fromEntries(Object.entries(env).filter(([k]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k)));
}

/** Seconds of a compose duration such as `20s`, `1m30s`. */
export function composeSeconds(value: string): number {
  let total = 0;
  for (const [, n, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(n) * { ms: 0.001, s: 1, m: 60, h: 3600 }[unit as 'ms' | 's' | 'm' | 'h'];
  return total;
}

/**
 * docker-compose.yml with `${VAR}`, `${VAR:-default}` and `${VAR:?message}` in its values
 * filled from `vars`, as `docker compose` does after parsing (a missing `:?` variable is an error).
 */
export function loadCompose(vars: Record<string, string>): any {
  const fill = (value: unknown): unknown => {
    if (typeof value === 'string') {
      return value.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_m, name: string, op?: string, arg?: string) => {
        const given = vars[name];
        if (given !== undefined && given !== '') return given;
        if (op === '?') throw new Error(`docker-compose.yml: ${name} is required: ${arg}`);
        return op === '-' ? (arg ?? '') : '';
      });
    }
    if (Array.isArray(value)) return value.map(fill);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v)]));
    return value;
  };
  // Anchors and merge keys (`<<: *herald`) as compose reads them.
  return fill(parse(readRoot('docker-compose.yml'), { merge: true }));
}
