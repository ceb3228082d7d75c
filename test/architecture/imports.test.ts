import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';

const ROOT = path.resolve(import.meta.dirname, '../..');
const IMPORT = /^\s*(?:import|export)\s+(?:type\s+)?[^'"]*?from\s+['"](\.[^'"]+)['"]/gm;

/** Every TypeScript module of the package (src, handlers, tunnels) and what it imports (types included). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (file.endsWith('.ts') && !file.endsWith('.d.ts')) {
        const text = readFileSync(path.join(ROOT, file), 'utf8');
        const imports = [...text.matchAll(IMPORT)].map((m) => path.normalize(path.join(path.dirname(file), m[1]!)).replace(/\.js$/, '.ts'));
        graph.set(file, imports);
      }
    }
  };
  for (const dir of ['src', 'handlers', 'tunnels']) walk(dir);
  return graph;
}

/** The import cycles (Tarjan's strongly connected components of more than one module, or a module importing itself). */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** Imports from modules under `from` into modules under any of `into`. */
function crossings(graph: Map<string, string[]>, from: string, into: string[], except: string[] = []): string[] {
  const out: string[] = [];
  for (const [file, imports] of graph) {
    if (!file.startsWith(from) || except.some((e) => file.startsWith(e))) continue;
    for (const target of imports) if (into.some((i) => target.startsWith(i))) out.push(`${file} -> ${target}`);
  }
  return out;
}

describe('architecture: the import graph keeps its layers', () => {
  const graph = importGraph();

  it('reads the whole package', () => {
    expect(graph.size).to.be.above(100);
    expect(graph.get('src/stream.ts')).to.include('src/routes.ts');
  });

  it('has no import cycle (type imports included)', () => {
    expect(cycles(graph)).to.deep.equal([]);
  });

  it('keeps the core (src/) free of tunnels/ and handlers/, and nothing but cli/ imports cli/', () => {
    // src/cli/ is the top layer (the command line uses everything); the rest of src/ is the core.
    expect(crossings(graph, 'src/', ['tunnels/', 'handlers/'], ['src/cli/'])).to.deep.equal([]);
    expect(crossings(graph, '', ['src/cli/'], ['src/cli/'])).to.deep.equal([]);
  });

  it('keeps audio and video at the bottom, and sessions free of wire formats and coordination', () => {
    const below = ['src/audio/', 'src/video/', 'src/clock.ts', 'src/errors.ts', 'src/logger.ts'];
    for (const layer of ['src/audio/', 'src/video/']) {
      const escapes = [...graph].filter(([file]) => file.startsWith(layer)).flatMap(([file, imports]) => imports.filter((t) => !below.some((b) => t.startsWith(b))).map((t) => `${file} -> ${t}`));
      expect(escapes, layer).to.deep.equal([]);
    }
    const above = ['src/transports/', 'src/coordination/', 'src/http/', 'src/twilio/', 'src/stream.ts', 'src/routes.ts', 'src/outputs/', 'src/recording/', 'src/rooms/'];
    expect(crossings(graph, 'src/session/', above)).to.deep.equal([]);
  });

  it('keeps rooms free of wire formats: participants are sessions, and the mixer knows no transport', () => {
    expect(crossings(graph, 'src/rooms/', ['src/transports/', 'src/http/', 'src/twilio/', 'src/stream.ts', 'src/routes.ts', 'src/recording/', 'src/ui/'])).to.deep.equal([]);
  });

  it('keeps transports below the Stream: they reach it through TransportRuntime only', () => {
    expect(crossings(graph, 'src/transports/', ['src/stream.ts', 'src/routes.ts'])).to.deep.equal([]);
  });
});
