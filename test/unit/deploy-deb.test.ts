// The package's preinst (deploy/deb/preinst): which releases it accepts and how it names the one it refuses, run by sh
// on os-release files as each release ships them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PREINST = fileURLToPath(new URL('../../../deploy/deb/preinst', import.meta.url));

test('preinst: supported releases install, others are refused by name (exit 1), ROAMLINK_IGNORE_RELEASE=1 overrides', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-preinst-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const table: Array<{ name: string; osRelease: string; want: RegExp | null }> = [
    { name: 'Debian 12', osRelease: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n', want: null },
    { name: 'Debian 13', osRelease: 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nID=debian\nVERSION_ID="13"\n', want: null },
    { name: 'Debian testing', osRelease: 'PRETTY_NAME="Debian GNU/Linux forky/sid"\nID=debian\n', want: null },
    { name: 'Raspberry Pi OS 12', osRelease: 'PRETTY_NAME="Raspbian GNU/Linux 12 (bookworm)"\nID=raspbian\nID_LIKE=debian\nVERSION_ID="12"\n', want: null },
    { name: 'Ubuntu 24.04', osRelease: 'PRETTY_NAME="Ubuntu 24.04.1 LTS"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\n', want: null },
    { name: 'Debian 11', osRelease: 'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\nID=debian\nVERSION_ID="11"\n', want: /^roamlink: Debian GNU\/Linux 11 \(bullseye\) is not supported: roamlink needs Debian 12 \(bookworm\) or later; nothing was installed/ },
    { name: 'Raspberry Pi OS 11', osRelease: 'PRETTY_NAME="Raspbian GNU/Linux 11 (bullseye)"\nID=raspbian\nVERSION_ID="11"\n', want: /Raspbian GNU\/Linux 11 \(bullseye\) is not supported: roamlink needs Debian 12/ },
    { name: 'Ubuntu 22.04', osRelease: 'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nID=ubuntu\nVERSION_ID="22.04"\n', want: /Ubuntu 22\.04\.4 LTS is not supported: roamlink needs Ubuntu 24\.04 or later \(systemd 252 or later\)/ },
    { name: 'Fedora', osRelease: 'PRETTY_NAME="Fedora Linux 41"\nID=fedora\nVERSION_ID=41\n', want: /Fedora Linux 41 is not supported: roamlink is built for Debian 12 or later/ },
  ];
  for (const [i, { name, osRelease, want }] of table.entries()) {
    const f = join(dir, `os-release-${i}`);
    writeFileSync(f, osRelease);
    const r = spawnSync('sh', [PREINST, 'install'], { encoding: 'utf8', env: { PATH: process.env.PATH, ROAMLINK_OS_RELEASE: f } });
    if (want) {
      assert.equal(r.status, 1, name);
      assert.match(r.stderr, want, name);
      const forced = spawnSync('sh', [PREINST, 'install'], { encoding: 'utf8', env: { PATH: process.env.PATH, ROAMLINK_OS_RELEASE: f, ROAMLINK_IGNORE_RELEASE: '1' } });
      assert.equal(forced.status, 0, `${name}, forced`);
      assert.match(forced.stderr, /^roamlink: warning: .* is not supported/, `${name}, forced`);
    } else {
      assert.equal(r.status, 0, `${name}: ${r.stderr}`);
      assert.equal(r.stderr, '', name);
    }
    // Only install and upgrade check: a failed upgrade's rollback (abort-upgrade) must never be refused.
    assert.equal(spawnSync('sh', [PREINST, 'abort-upgrade', '0.1.0'], { env: { PATH: process.env.PATH, ROAMLINK_OS_RELEASE: f } }).status, 0, `${name}: abort-upgrade`);
  }
  const none = spawnSync('sh', [PREINST, 'install'], { encoding: 'utf8', env: { PATH: process.env.PATH, ROAMLINK_OS_RELEASE: join(dir, 'missing') } });
  assert.equal(none.status, 1);
  assert.match(none.stderr, /cannot tell the release/);
});
