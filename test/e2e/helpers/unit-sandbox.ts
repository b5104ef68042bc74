import { netnsPath } from '../../../src/lab/ns.js';

/**
 * Runs what install.sh put into a scratch root as if it were installed on this machine, and (asUnit) the
 * way systemd would start the unit, without systemd: PID 1 here is not systemd, so `systemctl start` is not
 * possible. Everything happens in a private mount namespace, so the host's own files and mounts stay as
 * they are.
 */

/** The [Service] settings the install test applies, read from the installed unit. */
export interface UnitService {
  readonly execStart: readonly string[];
  /** setpriv's form: `-all,+net_admin,…` from `CapabilityBoundingSet=CAP_NET_ADMIN …`. */
  readonly boundingSet: string;
  readonly limitNofile: number;
  readonly stateDirectory: string;
  readonly runtimeDirectory: string;
  readonly umask: string;
}

/** `Section.Key` → every value given, in order (systemd lets some keys repeat). */
export function parseUnit(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[([^\]]+)\]$/.exec(line);
    if (head) {
      section = head[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) throw new Error(`unit line without "=": ${line}`);
    const key = `${section}.${line.slice(0, eq).trim()}`;
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return out;
}

function one(unit: Map<string, string[]>, key: string): string {
  const v = unit.get(key);
  if (!v || v.length !== 1) throw new Error(`the unit should set ${key} exactly once (has ${v?.length ?? 0})`);
  return v[0]!;
}

const PLAIN = /^[A-Za-z0-9._/:=-]+$/;

export function serviceOf(unit: Map<string, string[]>): UnitService {
  const exec = one(unit, 'Service.ExecStart').split(/\s+/);
  // Split on blanks only: a quote, `$VAR` or `%x` specifier would mean systemd reads it differently.
  for (const w of exec) if (!PLAIN.test(w)) throw new Error(`ExecStart word the test cannot split like systemd: ${w}`);
  const caps = one(unit, 'Service.CapabilityBoundingSet').split(/\s+/);
  for (const c of caps) if (!/^CAP_[A-Z_]+$/.test(c)) throw new Error(`not a capability name: ${c}`);
  const nofile = Number(one(unit, 'Service.LimitNOFILE'));
  if (!Number.isInteger(nofile) || nofile <= 0) throw new Error('LimitNOFILE should be one number');
  const dir = (key: string) => {
    const d = one(unit, key);
    if (!/^[a-z][a-z0-9-]*$/.test(d)) throw new Error(`${key} should be one plain directory name`);
    return d;
  };
  const umask = one(unit, 'Service.UMask');
  if (!/^0[0-7]{3}$/.test(umask)) throw new Error('UMask should be octal');
  return {
    execStart: exec,
    boundingSet: ['-all', ...caps.map((c) => '+' + c.slice(4).toLowerCase())].join(','),
    limitNofile: nofile,
    stateDirectory: dir('Service.StateDirectory'),
    runtimeDirectory: dir('Service.RuntimeDirectory'),
    umask,
  };
}

/**
 * The script run in the new mount namespace. $1 is the scratch root; then either the command, or
 * `--as-unit STATE RUNTIME BOUNDING NOFILE UMASK` and the command.
 */
const SCRIPT = String.raw`
set -euo pipefail
root=$1; shift
# The installed files at the paths the unit names, over the host's: read-only, as ProtectSystem=strict has them.
for d in /opt /usr/local/bin /etc; do
  if [[ -d $root$d ]]; then mount -t overlay gatehouse-install -o "lowerdir=$root$d:$d" "$d"; fi
done
if [[ $1 == --as-unit ]]; then
  state=$2 runtime=$3 bounding=$4 nofile=$5 mask=$6; shift 6
  # ProtectSystem=strict: every file system read-only (/proc and /dev are PrivateDevices' and
  # ProtectKernelTunables' business; /run/netns only holds namespace handles)...
  while read -r m; do
    m=$(printf '%b' "$m")
    case $m in /proc | /proc/* | /dev | /dev/* | /run/netns/*) continue ;; esac
    mount -o remount,bind,ro "$m" || { echo "unit-sandbox: cannot make $m read-only" >&2; exit 1; }
  done < <(awk '{print $5}' /proc/self/mountinfo | sort -u)
  # ...but StateDirectory= and RuntimeDirectory=, made fresh as systemd makes them (what is beside them stays
  # read-only), PrivateTmp= and ProtectHome=.
  for parent in /var/lib /run; do
    d=$parent/$state
    if [[ $parent == /run ]]; then d=$parent/$runtime; fi
    mount -t tmpfs -o mode=0755 gatehouse-unit "$parent"
    mkdir -m 0700 "$d"
    mount --bind "$d" "$d"
    mount -o remount,bind,ro "$parent"
  done
  mount -t tmpfs -o mode=1777 gatehouse-tmp /tmp
  for h in /home /root; do if [[ -d $h ]]; then mount -t tmpfs -o ro,mode=0755 gatehouse-home "$h"; fi; done
  umask "$mask"
  # CapabilityBoundingSet= (root keeps only these), NoNewPrivileges=, LimitNOFILE=.
  exec setpriv --no-new-privs --bounding-set="$bounding" --inh-caps=-all prlimit --nofile="$nofile:$nofile" -- "$@"
fi
exec "$@"
`;

/** argv that runs `command` with the scratch root's files in place, in the network namespace `ns` if given. */
export function installedArgv(root: string, command: readonly string[], ns?: string): string[] {
  const net = ns ? ['nsenter', `--net=${netnsPath(ns)}`] : [];
  return [...net, 'unshare', '--mount', '--propagation', 'private', 'bash', '-c', SCRIPT, 'unit-sandbox', root, ...command];
}

/** argv that starts the unit's ExecStart as systemd would (the settings above), in the network namespace `ns`. */
export function asUnitArgv(root: string, svc: UnitService, ns: string): string[] {
  return installedArgv(root, ['--as-unit', svc.stateDirectory, svc.runtimeDirectory, svc.boundingSet, String(svc.limitNofile), svc.umask, ...svc.execStart], ns);
}

/** argv that runs `command` inside the mount and network namespaces of the running process `pid`. */
export function besideArgv(pid: number, command: readonly string[]): string[] {
  return ['nsenter', `--target=${pid}`, '--mount', '--net', '--', ...command];
}
