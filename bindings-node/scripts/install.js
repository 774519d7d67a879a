'use strict'
// npm `install` hook: builds the native addon with cargo when it is missing, so that
// `npm install ./bindings-node` works on a machine that has cargo (no prebuilt binaries).
// A development checkout builds it with `npm run build` (napi, which also regenerates
// native.js / native.d.ts); this hook then finds it present and does nothing.

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const PKG = path.resolve(__dirname, '..')

function platformSuffix() {
  const { platform, arch } = process
  if (platform === 'linux') {
    const glibc = process.report?.getReport?.().header?.glibcVersionRuntime
    return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`
  }
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function libraryName() {
  if (process.platform === 'win32') return 'breakwater_node.dll'
  if (process.platform === 'darwin') return 'libbreakwater_node.dylib'
  return 'libbreakwater_node.so'
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: PKG, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' })
  if (r.error) throw r.error
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`)
  return r.stdout
}

function main() {
  const target = path.join(PKG, `breakwater.${platformSuffix()}.node`)
  if (fs.existsSync(target) && !process.env.BREAKWATER_FORCE_BUILD) return
  const cargo = process.env.CARGO || 'cargo'
  const build = [cargo, 'build', '--release', '-p', 'breakwater-node']
  // One build at a time on shared machines: take the workspace's cargo lock when flock exists.
  const hasFlock = process.platform === 'linux' && spawnSync('flock', ['--version'], { stdio: 'ignore' }).status === 0
  console.error(`breakwater: building the native addon (${build.join(' ')})`)
  if (hasFlock) run('flock', ['/tmp/bw-cargo.lock', ...build])
  else run(build[0], build.slice(1))
  const meta = JSON.parse(run(cargo, ['metadata', '--format-version', '1', '--no-deps']))
  fs.copyFileSync(path.join(meta.target_directory, 'release', libraryName()), target)
}

try {
  main()
} catch (e) {
  console.error(`breakwater: could not build the native addon: ${e.message}`)
  console.error('breakwater: install Rust (cargo) and run `npm rebuild breakwater`, or `npm run build` in bindings-node')
  process.exit(1)
}
