/**
 * Turns a V8 CPU profile (.cpuprofile) into a flame graph SVG: one box per call path, as wide as
 * the samples spent in it and everything it called, callers below callees. Hover a box for its
 * function, file and share. Also a text summary of where the time went.
 *
 *   node <dist>/bench/support/flame-graph.js profile.cpuprofile out.svg ["title"]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { CpuProfile } from './cpu-profile';

const WIDTH = 1600;
const ROW = 17;
const FONT = 11;
const CHAR_WIDTH = 6.4;
/** Boxes narrower than this are left out (their time still counts in their callers' width). */
const MIN_WIDTH = 0.4;

interface Frame {
  name: string;
  where: string;
  origin: string;
  self: number;
  total: number;
  children: Frame[];
}

type ProfileNode = CpuProfile['nodes'][number];

/** Where a frame's code lives: a package, Node itself, keyward's own code, or V8's bookkeeping. */
export function originOf(url: string): string {
  if (!url) return '(v8)';
  if (url.startsWith('node:')) return 'node';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const own = /\/((?:apps|libs)\/[^/]+)\//.exec(url);
  return own ? `keyward ${own[1]}` : url;
}

function where(node: ProfileNode): string {
  const { url, lineNumber } = node.callFrame;
  if (!url) return '';
  const short = url
    .replace(/^file:\/\//, '')
    .replace(/^.*node_modules\//, '')
    .replace(/^.*\/\.?dist[^/]*\//, '');
  return `${short}:${lineNumber + 1}`;
}

/** The profile's call tree with sample counts; self time from hitCount, or from samples when absent. */
function tree(profile: CpuProfile): Frame {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const hits = new Map<number, number>();
  if (profile.samples) for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const build = (node: ProfileNode): Frame => {
    const children = (node.children ?? []).map((id) => build(byId.get(id)!));
    const self = hits.get(node.id) ?? node.hitCount ?? 0;
    return {
      name: node.callFrame.functionName || '(anonymous)',
      where: where(node),
      origin: originOf(node.callFrame.url),
      self,
      total: self + children.reduce((sum, child) => sum + child.total, 0),
      children: children.filter((child) => child.total > 0).sort((a, b) => a.name.localeCompare(b.name)),
    };
  };
  return build(profile.nodes[0]);
}

function colour(frame: Frame): string {
  let h = 0;
  for (let i = 0; i < frame.name.length; i++) h = (h * 31 + frame.name.charCodeAt(i)) >>> 0;
  const vary = h % 40;
  if (frame.name.startsWith('(')) return `rgb(${170 + (vary % 20)},${170 + (vary % 20)},${170 + (vary % 20)})`;
  if (frame.origin === 'node') return `rgb(${90 + vary},${150 + vary},${220})`; // Node itself: blue
  if (frame.origin.startsWith('keyward')) return `rgb(${80 + vary},${190 + vary},${90})`; // keyward: green
  return `rgb(${225 + (vary % 30)},${110 + vary * 2},${40 + vary})`; // packages: warm
}

const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The flame graph of `profile` as an SVG document: CPU time only, the event loop's idle time left out. */
export function flameGraphSvg(profile: CpuProfile, title: string): string {
  const all = tree(profile);
  const idle = all.children.find((child) => child.name === '(idle)')?.total ?? 0;
  const busy = all.children.filter((child) => child.name !== '(idle)');
  const root: Frame = { ...all, children: busy, total: all.total - idle };
  const scale = WIDTH / Math.max(root.total, 1);
  const boxes: { frame: Frame; x: number; level: number; width: number }[] = [];
  let depth = 0;
  const place = (frame: Frame, x: number, level: number) => {
    const width = frame.total * scale;
    if (width < MIN_WIDTH) return;
    depth = Math.max(depth, level);
    boxes.push({ frame, x, level, width });
    let childX = x;
    for (const child of frame.children) {
      place(child, childX, level + 1);
      childX += child.total * scale;
    }
  };
  place(root, 0, 0);
  const height = (depth + 1) * ROW + 40;
  const rects = boxes.map(({ frame, x, level, width }) => {
    const y = height - (level + 1) * ROW - 4;
    const share = ((frame.total / root.total) * 100).toFixed(2);
    const label = level === 0 ? `CPU: ${root.total} samples (idle: ${idle} more, left out)` : frame.name;
    const fits = Math.floor((width - 4) / CHAR_WIDTH);
    const text = fits >= 3 ? (label.length <= fits ? label : `${label.slice(0, fits - 1)}…`) : '';
    return (
      `<g><title>${escape(`${frame.name} ${frame.where} — ${frame.total} samples, ${share}% (self ${frame.self})`)}</title>` +
      `<rect x="${x.toFixed(2)}" y="${y}" width="${width.toFixed(2)}" height="${ROW - 1}" fill="${colour(frame)}" rx="1"/>` +
      (text ? `<text x="${(x + 3).toFixed(2)}" y="${y + ROW - 5}">${escape(text)}</text>` : '') +
      `</g>`
    );
  });
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="monospace" font-size="${FONT}">`,
    `<rect width="100%" height="100%" fill="#fdfdf8"/>`,
    `<text x="${WIDTH / 2}" y="20" font-size="15" text-anchor="middle">${escape(title)}</text>`,
    `<text x="4" y="34" font-size="10" fill="#555">green: keyward · blue: Node (node:*) · orange: packages · grey: V8 (GC, program, natives) · width = share of CPU samples · hover a box for its file and share</text>`,
    ...rects,
    `</svg>`,
  ].join('\n');
}

/** Self time by origin (package, Node, keyward, V8) and by function: the biggest `top` of each, in % of CPU samples (idle left out). */
export function hotSpots(
  profile: CpuProfile,
  top = 15,
): { origins: [string, number][]; functions: [string, number][] } {
  const origins = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  const walk = (frame: Frame) => {
    if (frame.self > 0 && frame.name !== '(idle)') {
      busy += frame.self;
      const origin = frame.name.startsWith('(') ? frame.name : frame.origin;
      origins.set(origin, (origins.get(origin) ?? 0) + frame.self);
      const name = `${frame.name} ${frame.where}`;
      functions.set(name, (functions.get(name) ?? 0) + frame.self);
    }
    frame.children.forEach(walk);
  };
  walk(tree(profile));
  const ranked = (counts: Map<string, number>) =>
    [...counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, n]): [string, number] => [name, (n / busy) * 100]);
  return { origins: ranked(origins), functions: ranked(functions) };
}

if (require.main === module) {
  const [input, output, title] = process.argv.slice(2);
  if (!input || !output) {
    console.error('usage: flame-graph.js profile.cpuprofile out.svg [title]');
    process.exit(2);
  }
  writeFileSync(output, flameGraphSvg(JSON.parse(readFileSync(input, 'utf8')) as CpuProfile, title ?? input));
}
