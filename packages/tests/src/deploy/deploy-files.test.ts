import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, it } from 'node:test';
import { execForm, parseDockerfile, readDockerignore } from './dockerfile.js';
import { loadWithEnv } from './herald-env.js';
import { composeSeconds, containerEnv, find, loadCompose, loadManifests, readRoot, ROOT, selects } from './manifests.js';

const dockerfile = parseDockerfile(readRoot('Dockerfile'));
const runtime = dockerfile.final;
const serverVersion = (JSON.parse(readRoot('packages/server/package.json')) as { version: string }).version;

/** Fails naming every variable `env` sets that Herald's configuration loader never looks at. */
function assertAllRead(where: string, env: Record<string, string>, read: Set<string>): void {
  const unread = Object.keys(env).filter((name) => !read.has(name));
  assert.deepEqual(unread, [], `${where} sets variables Herald does not read: ${unread.join(', ')}`);
}

/** Where a path of the image (under WORKDIR /app) comes from in the repository, if the runtime stage copies it. */
function imageSource(path: string): string | undefined {
  const inApp = posix.relative('/app', path);
  for (const copy of dockerfile.steps(runtime, 'COPY').filter((c) => c.flags.from === undefined)) {
    const dest = copy.args.at(-1)!.replace(/\/$/, '');
    if (inApp === dest || inApp.startsWith(`${dest}/`)) return join(ROOT, inApp);
  }
  return undefined;
}

describe('Dockerfile', () => {
  it('builds in one stage with dev dependencies and runs from another with production ones only', () => {
    assert.ok(dockerfile.stages.length >= 2, 'multi-stage');
    const build = dockerfile.stages.find((s) => s.name === 'build');
    assert.ok(build, 'a stage named build');
    assert.ok(dockerfile.steps(build, 'RUN').some((r) => /\bnpm ci\b/.test(r.text) && !/--omit=dev/.test(r.text)), 'the build stage installs dev dependencies');
    assert.ok(dockerfile.steps(build, 'RUN').some((r) => /\btsc -b\b/.test(r.text)), 'the build stage compiles');
    assert.notEqual(runtime.image, 'build', 'the runtime stage starts from a clean base image');
    const installs = dockerfile.steps(runtime, 'RUN').filter((r) => /\bnpm ci\b/.test(r.text));
    assert.equal(installs.length, 1);
    assert.match(installs[0]!.text, /--omit=dev/);
    assert.match(installs[0]!.text, /--ignore-scripts/, 'the root prepare script (a build) must not run without dev dependencies');
    // From the build stage, only built output: no sources, no dev node_modules.
    for (const copy of dockerfile.steps(runtime, 'COPY').filter((c) => c.flags.from !== undefined)) {
      assert.equal(copy.flags.from, 'build');
      for (const source of copy.args.slice(0, -1)) assert.match(source, /\/dist(\/public)?$/, `line ${copy.line} copies ${source} from the build stage`);
    }
  });

  it('runs as a non-root user, exposes the port Herald listens on, and checks /health', () => {
    const user = dockerfile.step(runtime, 'USER');
    assert.ok(user && !['root', '0'].includes(user.args[0]!), 'USER is not root');
    assert.deepEqual(dockerfile.step(runtime, 'EXPOSE')?.args, ['5009']);
    assert.ok(dockerfile.steps(runtime, 'ENV').some((e) => e.args.includes('NODE_ENV=production')), 'NODE_ENV=production refuses dev secrets');
    const health = dockerfile.step(runtime, 'HEALTHCHECK');
    assert.ok(health, 'HEALTHCHECK');
    const command = execForm(health);
    assert.equal(command[0], 'node');
    const script = readFileSync(imageSource(posix.join('/app', command[1]!)) ?? assert.fail(`${command[1]} is not copied into the image`), 'utf8');
    assert.match(script, /\/health/);
  });

  it('starts node itself in exec form, so SIGTERM reaches Herald and the drain runs', () => {
    const cmds = dockerfile.steps(runtime, 'CMD');
    assert.equal(cmds.length, 1);
    assert.equal(dockerfile.step(runtime, 'ENTRYPOINT'), undefined, 'no ENTRYPOINT wrapper');
    const command = execForm(cmds[0]!);
    assert.deepEqual(command.slice(0, 1), ['node'], 'not npm (which does not forward SIGTERM) and not a shell');
    assert.deepEqual(command.slice(1), ['packages/server/dist/cli.js', 'serve']);
  });

  it('copies only what .dockerignore lets in, and keeps installed and built output out of the context', () => {
    const ignore = readDockerignore(ROOT);
    for (const path of ['node_modules/ws/index.js', 'packages/server/node_modules/x', 'packages/server/dist/cli.js', 'packages/protocol/dist/index.js', '.git/HEAD', 'packages/server/dist/tsconfig.tsbuildinfo']) {
      assert.ok(ignore.ignores(path), `${path} is sent to the build`);
    }
    for (const stage of dockerfile.stages) {
      for (const copy of dockerfile.steps(stage, 'COPY').filter((c) => c.flags.from === undefined)) {
        for (const source of copy.args.slice(0, -1)) {
          assert.ok(existsSync(join(ROOT, source)), `line ${copy.line}: ${source} does not exist`);
          assert.ok(!ignore.ignores(source), `line ${copy.line}: ${source} is excluded by .dockerignore`);
        }
      }
    }
  });
});

describe('docker-compose.yml', () => {
  const compose = loadCompose({ JWT_SECRET: 'compose-test-secret', WEBHOOK_TOKEN: 'compose-test-key' });
  const heralds = Object.entries<any>(compose.services).filter(([name]) => /^herald-\d+$/.test(name));

  it('refuses to start without the secrets', () => {
    assert.throws(() => loadCompose({}), /JWT_SECRET is required/);
    assert.throws(() => loadCompose({ JWT_SECRET: 'x' }), /WEBHOOK_TOKEN is required/);
  });

  it('runs Redis and three Herald nodes of this image, each waiting for a healthy Redis', () => {
    assert.ok(compose.services.redis, 'a redis service');
    assert.match(compose.services.redis.image, /^redis:[7-9]/, 'Redis 7 (6.2 is the oldest Herald supports)');
    assert.equal(heralds.length, 3);
    for (const [name, service] of heralds) {
      assert.equal(service.build, '.', `${name} is built from the Dockerfile`);
      assert.equal(service.depends_on?.redis?.condition, 'service_healthy', name);
    }
  });

  it('gives each node a configuration that loads in production and reaches that Redis', () => {
    for (const [name, service] of heralds) {
      const env = service.environment as Record<string, string>;
      const configPath = env.HERALD_CONFIG!;
      const source = imageSource(configPath) ?? assert.fail(`${configPath} is not in the image`);
      const { loaded, read } = loadWithEnv(env, { [configPath]: readFileSync(source, 'utf8') });
      assertAllRead(`docker-compose.yml ${name}`, env, read);
      assert.equal(loaded.dev, false, 'no dev secret or dev API key');
      assert.equal(loaded.config.engine.type, 'redis');
      assert.equal(loaded.config.engine.redis.host, 'redis');
      assert.equal(loaded.config.server.port, 5009);
      // Compose sends SIGKILL after stop_grace_period (10 s unless set): the drain must end first.
      assert.ok(composeSeconds(service.stop_grace_period ?? '10s') * 1000 > loaded.config.server.shutdownTimeout, `${name}: stop_grace_period ≤ server.shutdownTimeout`);
    }
  });

  it('puts nginx in front of the three nodes with client affinity, WebSocket upgrades and unbuffered streams', () => {
    const lb = compose.services.lb;
    assert.match(lb.image, /^nginx:/);
    assert.ok(lb.ports.some((p: string) => p.endsWith(':80')), 'the load balancer is published');
    const mount = (lb.volumes as string[]).find((v) => v.endsWith(':/etc/nginx/nginx.conf:ro'));
    assert.ok(mount, 'nginx.conf mounted');
    const conf = readFileSync(join(ROOT, mount.split(':')[0]!), 'utf8').replace(/#.*$/gm, '');
    const upstream = /upstream\s+herald\s*\{([^}]*)\}/.exec(conf)?.[1] ?? assert.fail('upstream herald');
    assert.deepEqual([...upstream.matchAll(/server\s+([\w.-]+):(\d+)/g)].map((m) => `${m[1]}:${m[2]}`), heralds.map(([name]) => `${name}:5009`));
    assert.match(upstream, /\b(ip_hash|hash\s+\$remote_addr|sticky)\b/, 'Socket.IO long-polling needs affinity');
    assert.match(conf, /proxy_pass\s+http:\/\/herald;/);
    assert.match(conf, /proxy_http_version\s+1\.1;/);
    assert.match(conf, /proxy_set_header\s+Upgrade\s+\$http_upgrade;/);
    assert.match(conf, /proxy_set_header\s+Connection\s+\$connection_upgrade;/);
    assert.match(conf, /proxy_buffering\s+off;/, 'SSE events pass at once');
    assert.match(conf, /proxy_next_upstream\s[^;]*\bhttp_503\b/, "a draining node's 503 sends reconnects to the next node");
    // A quiet connection lives heartbeat.interval + heartbeat.timeout; nginx must not cut it sooner.
    const { loaded } = loadWithEnv(heralds[0]![1].environment, { [heralds[0]![1].environment.HERALD_CONFIG]: readRoot('examples/callcenter/herald.yaml') });
    const readTimeout = Number(/proxy_read_timeout\s+(\d+)s;/.exec(conf)?.[1]);
    assert.ok(readTimeout * 1000 > loaded.config.heartbeat.interval + loaded.config.heartbeat.timeout, `proxy_read_timeout ${readTimeout}s`);
  });
});

describe('k8s/', () => {
  const objects = loadManifests();
  const deployment = find(objects, 'Deployment', 'herald');
  const pod = deployment.spec.template.spec;
  const container = pod.containers.find((c: any) => c.name === 'herald');
  const env = containerEnv(objects, container);
  const configMap = find(objects, 'ConfigMap', 'herald');
  const load = () => loadWithEnv(env, { [env.HERALD_CONFIG!]: configMap.data!['herald.yaml']! });

  it('parses, every object with a kind and a name', () => {
    for (const o of objects) assert.ok(o.apiVersion && o.kind && o.metadata?.name, `${o.file}: ${JSON.stringify(o).slice(0, 120)}`);
    for (const kind of ['Deployment', 'Service', 'ConfigMap', 'Secret', 'PodDisruptionBudget']) find(objects, kind, 'herald');
  });

  it('runs three replicas of this image as a non-root user, one pod at a time in updates and disruptions', () => {
    assert.equal(deployment.spec.replicas, 3);
    assert.ok(selects(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels));
    assert.equal(container.image, `herald:${serverVersion}`, 'the tag docs/deploy.md builds');
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.securityContext.runAsUser, 1000, "the image's node user");
    assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0);
    const pdb = find(objects, 'PodDisruptionBudget', 'herald');
    assert.ok(selects(pdb.spec.selector.matchLabels, deployment.spec.template.metadata.labels));
    assert.ok(pdb.spec.maxUnavailable === 1 || pdb.spec.minAvailable === deployment.spec.replicas - 1);
  });

  it('probes readiness on /ready and liveness on /health, on the port Herald listens on', () => {
    const { loaded } = load();
    const port = container.ports.find((p: any) => p.name === 'http');
    assert.equal(port.containerPort, loaded.config.server.port);
    assert.equal(container.readinessProbe.httpGet.path, '/ready');
    assert.equal(container.livenessProbe.httpGet.path, '/health');
    for (const probe of [container.readinessProbe, container.livenessProbe]) assert.ok([port.name, port.containerPort].includes(probe.httpGet.port));
  });

  it('leaves time for the preStop pause and the whole drain before SIGKILL', () => {
    const { loaded } = load();
    const [sleep, seconds] = container.lifecycle.preStop.exec.command;
    assert.equal(sleep, 'sleep');
    const grace = pod.terminationGracePeriodSeconds;
    // The pause, then server.shutdownTimeout, then closing the engine: 5 s of margin for it.
    assert.ok(grace >= Number(seconds) + loaded.config.server.shutdownTimeout / 1000 + 5, `terminationGracePeriodSeconds ${grace}`);
  });

  it('configures Herald from the ConfigMap and Secret: a production configuration on the Redis of k8s/redis.yaml', () => {
    const { loaded, read } = load();
    assertAllRead('k8s/deployment.yaml', env, read);
    assert.equal(loaded.dev, false, 'no dev secret or dev API key');
    assert.equal(loaded.config.engine.type, 'redis');
    assert.ok(env.JWT_SECRET && env.WEBHOOK_TOKEN, 'the Secret carries the JWT secret and the API key');
    const mount = container.volumeMounts.find((m: any) => posix.dirname(env.HERALD_CONFIG!) === m.mountPath);
    const volume = pod.volumes.find((v: any) => v.name === mount.name);
    assert.equal(volume.configMap.name, configMap.metadata.name);
    assert.deepEqual(volume.configMap.items, [{ key: 'herald.yaml', path: posix.basename(env.HERALD_CONFIG!) }]);
    const redisService = find(objects, 'Service', loaded.config.engine.redis.host!);
    assert.equal(redisService.file, 'k8s/redis.yaml');
    assert.equal(redisService.spec.ports[0].port, loaded.config.engine.redis.port);
    const redis = find(objects, 'Deployment', 'redis');
    assert.ok(selects(redisService.spec.selector, redis.spec.template.metadata.labels));
    assert.match(redis.spec.template.spec.containers[0].image, /^redis:[7-9]/);
  });

  it('serves the pods through one Service with client-IP affinity for Socket.IO long-polling', () => {
    const service = find(objects, 'Service', 'herald');
    assert.ok(selects(service.spec.selector, deployment.spec.template.metadata.labels));
    assert.equal(service.spec.ports[0].targetPort, 'http');
    assert.equal(service.spec.sessionAffinity, 'ClientIP');
  });
});

describe('docs/deploy.md', () => {
  const doc = readRoot('docs/deploy.md');
  const objects = loadManifests();
  const deployment = find(objects, 'Deployment', 'herald');
  const container = deployment.spec.template.spec.containers[0];
  const compose = loadCompose({ JWT_SECRET: 'x', WEBHOOK_TOKEN: 'y' });

  it('states the replicas, the preStop pause, the grace periods and the image tag the files have', () => {
    assert.ok(doc.includes(`replicas: ${deployment.spec.replicas}`));
    assert.ok(doc.includes(`preStop: ${container.lifecycle.preStop.exec.command.join(' ')}`));
    assert.ok(doc.includes(`terminationGracePeriodSeconds: ${deployment.spec.template.spec.terminationGracePeriodSeconds}`));
    assert.ok(doc.includes(`stop_grace_period: ${compose.services['herald-1'].stop_grace_period}`));
    assert.ok(doc.includes(`docker build -t ${container.image} .`));
  });

  it('lists every variable the compose file and the manifests set', () => {
    const listed = new Set([...doc.matchAll(/^\| (`[A-Z_]+`(?:, `[A-Z_]+`)*) \|/gm)].flatMap((m) => m[1]!.split(', ').map((v) => v.slice(1, -1))));
    const set = new Set([...Object.keys(containerEnv(objects, container)), ...Object.keys(compose.services['herald-1'].environment)]);
    assert.deepEqual([...set].filter((v) => !listed.has(v)), []);
  });
});
