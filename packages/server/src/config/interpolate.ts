/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string of a parsed config with environment
 * values. A variable that is unset and has no default is an error naming it and where it is used.
 */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, path: string[] = []): unknown {
  if (typeof value === 'string') {
    const replaced = value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, fallback?: string) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`${path.join('.') || '(root)'}: environment variable ${name} is not set`);
    });
    // A value that is one placeholder takes the variable's type: `port: ${PORT}` is a number.
    return WHOLE_PLACEHOLDER.test(value) ? scalar(replaced) : replaced;
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, [...path, String(i)]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, env, [...path, k])]));
  }
  return value;
}

const WHOLE_PLACEHOLDER = /^\$\{[^}]+\}$/;

function scalar(text: string): string | number | boolean {
  if (text === 'true' || text === 'false') return text === 'true';
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return text;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}
