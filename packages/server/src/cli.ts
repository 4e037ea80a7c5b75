#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError } from './config/interpolate.js';
import { UsageError } from './cli/usage-error.js';
import { StartError } from './cli/start-error.js';

const mainHelp = `Usage: herald <command> [options]

Commands:
  serve     start the gateway
  token     mint a JWT for testing and development
  publish   publish an event through the HTTP API

Run "herald <command> --help" for a command's options.`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(mainHelp + '\n');
    return;
  }
  const common = { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;
  switch (command) {
    // Each command loads only its own modules: `herald token` does not load the server.
    case 'serve': {
      const { serve, serveHelp } = await import('./cli/serve.js');
      const { values } = parseArgs({ args: rest, options: common, strict: true });
      if (values.help) return void process.stdout.write(serveHelp + '\n');
      return serve(values);
    }
    case 'token': {
      const { token, tokenHelp } = await import('./cli/token.js');
      const { values } = parseArgs({
        args: rest,
        options: {
          ...common,
          sub: { type: 'string' },
          tenant: { type: 'string' },
          roles: { type: 'string' },
          name: { type: 'string' },
          channels: { type: 'string' },
          claim: { type: 'string', multiple: true },
          ttl: { type: 'string' },
        },
        strict: true,
      });
      if (values.help) return void process.stdout.write(tokenHelp + '\n');
      return token(values);
    }
    case 'publish': {
      const { publish, publishHelp } = await import('./cli/publish.js');
      const { values, positionals } = parseArgs({
        args: rest,
        options: { ...common, url: { type: 'string' }, key: { type: 'string' }, tenant: { type: 'string' } },
        allowPositionals: true,
        strict: true,
      });
      if (values.help) return void process.stdout.write(publishHelp + '\n');
      return publish(positionals, values);
    }
    default:
      throw new UsageError(`unknown command "${command}"\n\n${mainHelp}`);
  }
}

main(process.argv.slice(2)).catch((err: Error) => {
  if (err instanceof StartError) {
    process.stderr.write(`herald: ${err.message}\n`);
    process.exit(1);
  }
  const known = err instanceof ConfigError || err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  process.stderr.write(`herald: ${known ? err.message : (err.stack ?? err.message)}\n`);
  process.exit(2);
});
