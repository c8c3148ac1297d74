'use strict';
// Builds the published files in dist/ from the sources in lib/: the same code
// without comments and layout, local names shortened, so that the package
// installs small. It uses no package from npm: the parser is the one Node.js
// ships for its REPL, reached with --expose-internals.
//
//   node --expose-internals scripts/build.js [outDir]
//
// The transformation only renames bindings local to a module (never a
// property, a global or a class name) and drops comments and white space the
// grammar does not need; the tests run the conformance vectors against dist/.

const fs = require('node:fs');
const path = require('node:path');
const acorn = require('internal/deps/acorn/acorn/dist/acorn');

const root = path.resolve(__dirname, '..');
const out = path.resolve(process.argv[2] || path.join(root, 'dist'));

const RESERVED = new Set(('break case catch class const continue debugger default delete do else export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with yield let static enum await implements package protected interface private public arguments eval undefined NaN Infinity of get set async').split(' '));

function* names() {
  const first = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$';
  const rest = first + '0123456789';
  for (let len = 1; ; len++) {
    const idx = new Array(len).fill(0);
    for (;;) {
      let s = first[idx[0]];
      for (let i = 1; i < len; i++) s += rest[idx[i]];
      yield s;
      let k = len - 1;
      while (k >= 0) {
        idx[k]++;
        if (idx[k] < (k === 0 ? first.length : rest.length)) break;
        idx[k] = 0;
        k--;
      }
      if (k < 0) break;
    }
  }
}

function children(node) {
  const out = [];
  for (const key of Object.keys(node)) {
    if (key === 'type' || key === 'start' || key === 'end') continue;
    const v = node[key];
    if (Array.isArray(v)) for (const x of v) { if (x && typeof x.type === 'string') out.push(x); }
    else if (v && typeof v.type === 'string') out.push(v);
  }
  return out;
}

class Scope {
  constructor(parent, isFunction) {
    this.parent = parent;
    this.isFunction = isFunction;
    this.bindings = new Map(); // name → { name, refs: [node], keep, scope }
    this.children = [];
    this.usedUnder = new Set(); // bindings of enclosing scopes referenced in this one's subtree
    if (parent) parent.children.push(this);
  }
  fnScope() {
    let s = this;
    while (!s.isFunction) s = s.parent;
    return s;
  }
  declare(id, keep) {
    let b = this.bindings.get(id.name);
    if (!b) {
      b = { name: id.name, refs: [], keep: !!keep, scope: this };
      this.bindings.set(id.name, b);
    }
    b.keep = b.keep || !!keep;
    b.refs.push(id);
  }
  lookup(name) {
    for (let s = this; s; s = s.parent) if (s.bindings.has(name)) return s.bindings.get(name);
    return null;
  }
}

// patternIds returns the identifiers a pattern binds.
function patternIds(p, acc = []) {
  if (!p) return acc;
  switch (p.type) {
    case 'Identifier': acc.push(p); break;
    case 'ObjectPattern': for (const prop of p.properties) patternIds(prop.type === 'RestElement' ? prop.argument : prop.value, acc); break;
    case 'ArrayPattern': for (const e of p.elements) patternIds(e, acc); break;
    case 'AssignmentPattern': patternIds(p.left, acc); break;
    case 'RestElement': patternIds(p.argument, acc); break;
  }
  return acc;
}

function analyze(ast) {
  const top = new Scope(null, true);
  const scopeOf = new Map();
  // Pass 1: scopes and declarations.
  const declare = (node, scope) => {
    switch (node.type) {
      case 'VariableDeclaration': {
        const target = node.kind === 'var' ? scope.fnScope() : scope;
        for (const d of node.declarations) for (const id of patternIds(d.id)) target.declare(id);
        break;
      }
      case 'FunctionDeclaration':
        scope.declare(node.id);
        break;
      case 'ClassDeclaration':
        scope.declare(node.id, true);
        break;
    }
  };
  const visit = (node, scope) => {
    let inner = scope;
    switch (node.type) {
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        inner = new Scope(scope, true);
        if (node.type === 'FunctionExpression' && node.id) inner.declare(node.id, true);
        for (const p of node.params) for (const id of patternIds(p)) inner.declare(id);
        scopeOf.set(node, inner);
        break;
      case 'BlockStatement':
      case 'ForStatement':
      case 'ForInStatement':
      case 'ForOfStatement':
      case 'SwitchStatement':
      case 'StaticBlock':
        inner = new Scope(scope, false);
        scopeOf.set(node, inner);
        break;
      case 'CatchClause':
        inner = new Scope(scope, false);
        if (node.param) for (const id of patternIds(node.param)) inner.declare(id);
        scopeOf.set(node, inner);
        break;
    }
    const body = node.type === 'SwitchStatement' ? node.cases.flatMap((c) => c.consequent) : node.body;
    if (Array.isArray(body)) for (const st of body) declare(st, inner);
    if (node.type === 'BlockStatement' || node.type === 'Program' || node.type === 'StaticBlock') {
      // declarations handled above
    } else if (node.type === 'ForStatement' && node.init && node.init.type === 'VariableDeclaration') declare(node.init, inner);
    else if ((node.type === 'ForInStatement' || node.type === 'ForOfStatement') && node.left.type === 'VariableDeclaration') declare(node.left, inner);
    for (const c of children(node)) visit(c, inner);
  };
  for (const st of ast.body) declare(st, top);
  scopeOf.set(ast, top);
  for (const c of children(ast)) visit(c, top);
  return { top, scopeOf };
}

// references resolves every identifier that names a variable, and collects
// the names that resolve to nothing (globals).
function resolve(ast, scopeOf, top) {
  const free = new Set();
  const declared = new Set();
  const walk = (node, scope, parent, key) => {
    if (scopeOf.has(node)) scope = scopeOf.get(node);
    if (node.type === 'Identifier') {
      const isProp = parent && ((parent.type === 'MemberExpression' && key === 'property' && !parent.computed) ||
        ((parent.type === 'Property' || parent.type === 'MethodDefinition' || parent.type === 'PropertyDefinition') && key === 'key' && !parent.computed && !parent.shorthand) ||
        (parent.type === 'Property' && key === 'key' && parent.shorthand) ||
        parent.type === 'LabeledStatement' || parent.type === 'BreakStatement' || parent.type === 'ContinueStatement' ||
        parent.type === 'MetaProperty');
      if (isProp) return;
      const b = scope.lookup(node.name);
      if (b) {
        if (!b.refs.includes(node)) b.refs.push(node);
        for (let s = scope; s !== b.scope; s = s.parent) s.usedUnder.add(b);
      } else free.add(node.name);
      return;
    }
    for (const k of Object.keys(node)) {
      if (k === 'type' || k === 'start' || k === 'end') continue;
      const v = node[k];
      if (Array.isArray(v)) { for (const x of v) if (x && typeof x.type === 'string') walk(x, scope, node, k); }
      else if (v && typeof v.type === 'string') walk(v, scope, node, k);
    }
  };
  walk(ast, top, null, null);
  void declared;
  return free;
}

// mangle renames the bindings of every scope, outer scopes first, so that a
// new name never equals a global or a name of an enclosing scope.
function mangle(src) {
  const ast = acorn.parse(src, { ecmaVersion: 2022, sourceType: 'script', allowHashBang: true });
  const { top, scopeOf } = analyze(ast);
  const free = resolve(ast, scopeOf, top);
  const shorthand = new Map(); // start of a shorthand property → key name
  const markShorthand = (node) => {
    if (node.type === 'Property' && node.shorthand) shorthand.set(node.key.start, node.key.name);
    for (const c of children(node)) markShorthand(c);
  };
  markShorthand(ast);
  const edits = new Map();
  // A scope's names are the shortest that are not reserved, not a global,
  // not one of its own and not the new name of an enclosing binding that is
  // referenced inside it; the most referenced bindings get the shortest.
  const kept = new Set();
  const collectKept = (sc) => { for (const b of sc.bindings.values()) if (b.keep) kept.add(b.name); sc.children.forEach(collectKept); };
  collectKept(top);
  const assign = (scope) => {
    const taken = new Set(kept);
    for (const b of scope.usedUnder) taken.add(b.newName || b.name);
    const gen = names();
    const list = [...scope.bindings.values()].sort((x, y) => y.refs.length - x.refs.length);
    for (const b of list) {
      if (b.keep) continue;
      let n;
      do n = gen.next().value; while (RESERVED.has(n) || free.has(n) || taken.has(n));
      taken.add(n);
      b.newName = n;
      for (const id of b.refs) {
        const key = shorthand.get(id.start);
        edits.set(id.start, { end: id.end, text: key !== undefined ? `${key}:${n}` : n });
      }
    }
    for (const c of scope.children) assign(c);
  };
  assign(top);
  const starts = [...edits.keys()].sort((a, b) => a - b);
  let outSrc = '';
  let at = 0;
  for (const s of starts) {
    const e = edits.get(s);
    outSrc += src.slice(at, s) + e.text;
    at = e.end;
  }
  return outSrc + src.slice(at);
}

const WORD = /[A-Za-z0-9_$\u0080-\uffff]/;

// squeeze drops comments and the white space the grammar does not need. A
// line break stays where one separated two tokens that could otherwise join
// into one statement.
function squeeze(src) {
  // Without automatic semicolon insertion anywhere, no line break ends a
  // statement, and all of them can go.
  acorn.parse(src, { ecmaVersion: 2022, sourceType: 'script', onInsertedSemicolon: (pos) => {
    throw new Error(`a semicolon is missing before ${JSON.stringify(src.slice(pos, pos + 40))}`);
  } });
  const tokens = [];
  for (const t of acorn.tokenizer(src, { ecmaVersion: 2022, sourceType: 'script', allowHashBang: true })) tokens.push(t);
  let out = '';
  let prev = null;
  for (const t of tokens) {
    let text = src.slice(t.start, t.end);
    if (t.type.label === 'num' && /^0x[0-9a-f]+$/i.test(text) && String(t.value).length <= text.length) text = String(t.value);
    if (prev) {
      const gap = src.slice(prev.end, t.start);
      const a = out[out.length - 1];
      const b = text[0];
      const inTemplate = prev.type.label === 'template' || prev.type.label === '`' && t.type.label === 'template' || prev.type.label === '${';
      if (!inTemplate) {
        void gap;
        if ((WORD.test(a) && WORD.test(b)) || (a === '+' && b === '+') || (a === '-' && b === '-') || (a === '/' && b === '/') ||
          (prev.type.label === 'num' && b === '.')) out += ' ';
      }
    }
    out += text;
    prev = t;
  }
  return out + '\n';
}

// bundle puts every module of lib/ into one scope, in the order they are
// required: local requires and module.exports go, built-in requires are
// shared. It refuses a top-level name declared by two modules.
function bundle(entry) {
  const order = [];
  const seen = new Set();
  const builtins = new Map(); // local name → module
  const owner = new Map(); // top-level name → file
  const bodies = new Map();
  const load = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = fs.readFileSync(file, 'utf8');
    const ast = acorn.parse(src, { ecmaVersion: 2022, sourceType: 'script' });
    const keep = [];
    for (const st of ast.body) {
      const text = src.slice(st.start, st.end);
      if (st.type === 'ExpressionStatement' && st.directive === 'use strict') continue;
      const req = st.type === 'VariableDeclaration' && st.declarations.length === 1 && st.declarations[0].init &&
        st.declarations[0].init.type === 'CallExpression' && st.declarations[0].init.callee.name === 'require' ? st.declarations[0] : null;
      if (req) {
        const mod = req.init.arguments[0].value;
        if (mod.startsWith('node:')) {
          if (req.id.type !== 'Identifier') throw new Error(`${file}: destructure built-in ${mod} in the code, not the require`);
          if (builtins.has(req.id.name) && builtins.get(req.id.name) !== mod) throw new Error(`${file}: ${req.id.name} names two modules`);
          builtins.set(req.id.name, mod);
          continue;
        }
        if (req.id.type !== 'ObjectPattern' || req.id.properties.some((p) => !p.shorthand)) {
          throw new Error(`${file}: require ${mod} as const { names } = require(…)`);
        }
        load(path.resolve(path.dirname(file), mod));
        continue;
      }
      if (st.type === 'ExpressionStatement' && st.expression.type === 'AssignmentExpression' &&
        src.slice(st.expression.left.start, st.expression.left.end) === 'module.exports') {
        if (file !== entry) continue;
      }
      const declared = st.type === 'VariableDeclaration' ? st.declarations.flatMap((d) => patternIds(d.id).map((i) => i.name)) :
        st.id ? [st.id.name] : [];
      for (const n of declared) {
        if (owner.has(n)) throw new Error(`top-level name ${n} is declared in ${owner.get(n)} and ${file}`);
        owner.set(n, file);
      }
      keep.push(text);
    }
    bodies.set(file, keep.join('\n'));
    order.push(file);
  };
  load(entry);
  for (const n of builtins.keys()) if (owner.has(n)) throw new Error(`top-level name ${n} of ${owner.get(n)} is also a built-in module's`);
  const head = [...builtins].map(([n, m]) => `const ${n} = require(${JSON.stringify(m)});`).join('\n');
  return `'use strict';\n${head}\n${order.map((f) => bodies.get(f)).join('\n')}\n`;
}

// shortenPrivate renames the properties whose names start with "_" (the
// client's internals; nothing public has one) to short names.
function shortenPrivate(src) {
  const ast = acorn.parse(src, { ecmaVersion: 2022, sourceType: 'script' });
  const edits = [];
  const names = new Map();
  const short = (n) => {
    if (!names.has(n)) names.set(n, '$' + names.size.toString(36));
    return names.get(n);
  };
  const walk = (node) => {
    if (node.type === 'MemberExpression' && !node.computed && node.property.name.startsWith('_')) {
      edits.push([node.property.start, node.property.end, short(node.property.name)]);
    }
    if ((node.type === 'Property' || node.type === 'MethodDefinition' || node.type === 'PropertyDefinition') && !node.computed &&
      node.key.type === 'Identifier' && node.key.name.startsWith('_')) {
      if (node.shorthand) throw new Error(`shorthand property ${node.key.name}`);
      edits.push([node.key.start, node.key.end, short(node.key.name)]);
    }
    for (const c of children(node)) walk(c);
  };
  walk(ast);
  edits.sort((a, b) => a[0] - b[0]);
  let out = '';
  let at = 0;
  for (const [s, e, t] of edits) {
    out += src.slice(at, s) + t;
    at = e;
  }
  return out + src.slice(at);
}

// literals writes true and false as !0 and !1, and undefined as void 0.
function literals(src) {
  const ast = acorn.parse(src, { ecmaVersion: 2022, sourceType: 'script' });
  const { top, scopeOf } = analyze(ast);
  const edits = [];
  const walk = (node, parent, key, scope) => {
    if (scopeOf.has(node)) scope = scopeOf.get(node);
    const objectOfMember = parent && parent.type === 'MemberExpression' && key === 'object';
    if (node.type === 'Literal' && typeof node.value === 'boolean' && !objectOfMember) edits.push([node.start, node.end, node.value ? '!0' : '!1']);
    if (node.type === 'Identifier' && node.name === 'undefined' && !objectOfMember && !scope.lookup('undefined') &&
      !(parent && ((parent.type === 'MemberExpression' && key === 'property') || (parent.type === 'Property' && key === 'key')))) {
      edits.push([node.start, node.end, 'void 0']);
    }
    for (const k of Object.keys(node)) {
      const v = node[k];
      if (Array.isArray(v)) { for (const x of v) if (x && typeof x.type === 'string') walk(x, node, k, scope); }
      else if (v && typeof v.type === 'string' && k !== 'type') walk(v, node, k, scope);
    }
  };
  walk(ast, null, null, top);
  edits.sort((a, b) => a[0] - b[0]);
  let out = '';
  let at = 0;
  for (const [st, e, t] of edits) {
    out += src.slice(at, st) + t;
    at = e;
  }
  return out + src.slice(at);
}

// declarations turns const into let (the same code, once it is known not to
// reassign them) and joins consecutive declarations of a block into one.
function declarations(src) {
  const ast = acorn.parse(src, { ecmaVersion: 2022, sourceType: 'script' });
  const edits = [];
  const walk = (node) => {
    const body = Array.isArray(node.body) ? node.body : node.type === 'SwitchCase' ? node.consequent : null;
    if (body) {
      for (let i = 0; i < body.length; i++) {
        const st = body[i];
        if (st.type !== 'VariableDeclaration' || st.kind === 'var') continue;
        const joined = i > 0 && body[i - 1].type === 'VariableDeclaration' && body[i - 1].kind !== 'var';
        // "…;const " becomes "…,": the previous declaration's semicolon and this keyword go.
        if (joined) edits.push([body[i - 1].end - 1, st.start + st.kind.length + 1, ',']);
        else if (st.kind === 'const') edits.push([st.start, st.start + 5, 'let']);
      }
    }
    // for (const x of …) and for (const k in …) bind x anew each iteration
    // either way, and the body never assigns it (const would throw).
    if ((node.type === 'ForOfStatement' || node.type === 'ForInStatement') && node.left.type === 'VariableDeclaration' && node.left.kind === 'const') {
      edits.push([node.left.start, node.left.start + 5, 'let']);
    }
    for (const c of children(node)) walk(c);
  };
  walk(ast);
  edits.sort((a, b) => a[0] - b[0]);
  let out = '';
  let at = 0;
  for (const [s, e, t] of edits) {
    if (src[s] === ';' || t === 'let') {
      out += src.slice(at, s) + t;
      at = e;
    }
  }
  return out + src.slice(at);
}

function build() {
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const header = '// Built from lib/ by scripts/build.js.\n';
  const min = squeeze(literals(declarations(mangle(shortenPrivate(bundle(path.join(root, 'index.js')))))));
  acorn.parse(min, { ecmaVersion: 2022, sourceType: 'script' }); // still JavaScript
  fs.writeFileSync(path.join(out, 'index.js'), header + min);
  // The ES module entry is a few statements, each ending in a semicolon:
  // without its comments, line breaks and the spaces around punctuation.
  const esm = fs.readFileSync(path.join(root, 'index.mjs'), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('//')).join('')
    .replace(/ *([{}=,;()]) */g, '$1');
  fs.writeFileSync(path.join(out, 'index.mjs'), esm + '\n');
}

build();
