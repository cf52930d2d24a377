#!/usr/bin/env python3
"""Attribute perf samples of a tern run to classes of host instructions.

usage: classify.py DUMP.log PERF.data [--blocks N]
DUMP.log is `tern -d out_asm -D DUMP.log` of the same run that perf recorded.
"""
import bisect, re, subprocess, sys, collections

import os
SHIFT = os.environ.get('SHIFT') == '1'
SCR = {'0A8h', '0B0h', '0B8h', '0C0h', '0C8h', '0D0h', '0D8h'}
SAVE = re.compile(r'^mov gs:\[(0[A-D][08]h)\],(\w+)$')
IMM64 = re.compile(r'^mov (\w+),[0-9A-F]+h$')


def parse(path):
    blocks, cur = [], None
    with open(path, errors='replace') as f:
        for line in f:
            if line.startswith('OUT: host '):
                cur = (int(line.split()[2], 16), [])
                blocks.append(cur)
            elif line.startswith('  0x') and cur is not None:
                a, t = line[2:].rstrip('\n').split(': ', 1)
                cur[1].append((int(a, 16), t.strip()))
    return blocks


def classify(ins):
    t = [x[1] for x in ins]
    n = len(t)
    cls = ['guest'] * n
    i = 0
    while i < n:
        s = t[i]
        m = SAVE.match(s)
        if m and m.group(1) in SCR:
            S, R = m.groups()
            restore = f'mov {R},gs:[{S}]'
            nxt = t[i + 1] if i + 1 < n else ''
            if S == '0A8h' and R == 'rcx':
                j = i
                # The lookup ends in `jmp gs:[ibl+8+rcx*8]` (since session
                # 15; `jmp gs:[jmp_target]` before).
                while j < n and not t[j].startswith('jmp qword ptr gs:['):
                    j += 1
                seg = t[i:j + 1]
                if nxt == 'mov rcx,[rsp]' or 'mov rdx,[rsp]' in seg:
                    kind = 'ret'
                elif any(x.startswith('mov [rsp-8],') or x.startswith('push ') for x in seg):
                    kind = 'icall'
                elif i == 0 and (nxt.startswith('mov rcx,[') or IMM64.match(nxt)) and \
                        ('mov rcx,[rcx]' in seg or re.match(r'mov rcx,\[[0-9A-F]+h\]$', nxt)):
                    kind = 'plt'
                else:
                    kind = 'ijmp'
                look = False
                for k in range(i, min(j + 1, n)):
                    if t[k] == 'mov gs:[0B0h],rdx':
                        look = True
                    cls[k] = kind + (':lookup' if look else ':setup')
                i = j + 1
                continue
            if re.match(rf'mov {R},gs:\[(90h|98h)\]$', nxt):
                j = i + 1
                cls[i] = cls[j] = 'fs-glue'
                j += 1
                while j < n and t[j] != restore:
                    if t[j].startswith(f'lea {R},['):
                        cls[j] = 'fs-glue'
                    j += 1
                if j < n:
                    cls[j] = 'fs-glue'
                i = j + 1
                continue
            if IMM64.match(nxt) and IMM64.match(nxt).group(1) == R:
                if i + 2 < n and t[i + 2].startswith(f'mov [rsp-8],{R}'):
                    for k in range(i, min(i + 4, n)):
                        cls[k] = 'call-push'
                    k = i + 4
                    while k < n and (t[k].startswith('mov gs:[0C8h],rsp') or t[k] == 'lea rsp,[rsp-8]'):
                        cls[k] = 'call-push'
                        k += 1
                    i = k
                    continue
                j = i + 2
                while j < n and t[j] != restore:
                    j += 1
                cls[i] = cls[i + 1] = 'riprel-glue'
                if j < n:
                    cls[j] = 'riprel-glue'
                i = j + 1
                continue
            # other scratch use (loop, jrcxz of the guest, rsp-relative...)
            cls[i] = 'other-glue'
            i += 1
            continue
        if i < 2 and s in ('mov rcx,gs:[0A8h]', 'mov rdx,gs:[0B0h]'):
            # The block's lookup entry (`Block::ibl_entry`): where every
            # lookup hit lands, so skid puts a mispredicted jump's cost here.
            cls[i] = 'lookup-entry'
            i += 1
            continue
        if 'gs:[0E8h]' in s:
            cls[i] = 'exit-stub'
            if i + 1 < n:
                cls[i + 1] = 'exit-stub'
            i += 2
            continue
        if s == 'nop':
            cls[i] = 'nop-pad'
        elif s.startswith('jmp ') and 'ptr' not in s:
            cls[i] = 'direct-jmp'
        elif 'gs:[' in s:
            cls[i] = 'other-glue'
        i += 1
    return cls


def host_class(sym, dso):
    if 'kernel' in dso:
        return 'kernel'
    if '/tern' in dso or dso.endswith('tern'):
        s = sym
        if any(k in s for k in ('iced_x86', 'tern_translate::lift', 'tern_translate::baseline',
                                 'tern_translate::ir', 'translate', 'emit', 'Jit', 'decode')):
            return 'tern:translate'
        if 'syscall' in s:
            return 'tern:syscalls'
        if 'signal' in s:
            return 'tern:signals'
        return 'tern:other (' + s[:60] + ')'
    return 'other:' + dso.split('/')[-1]


def main():
    dump, data = sys.argv[1], sys.argv[2]
    blocks = parse(dump)
    addrs, classes, owner = [], [], []
    for bi, (base, ins) in enumerate(blocks):
        for (a, _), c in zip(ins, classify(ins)):
            addrs.append(a)
            classes.append(c)
            owner.append(bi)
    order = sorted(range(len(addrs)), key=lambda k: addrs[k])
    addrs = [addrs[k] for k in order]
    classes = [classes[k] for k in order]
    owner = [owner[k] for k in order]
    lo, hi = addrs[0] - 0x100000, addrs[-1] + 64
    out = subprocess.run(['perf', 'script', '-i', data, '-F', 'ip,sym,dso'],
                         capture_output=True, text=True).stdout
    count = collections.Counter()
    hot = collections.Counter()
    total = 0
    for line in out.splitlines():
        p = line.split(None, 1)
        if not p:
            continue
        try:
            ip = int(p[0], 16)
        except ValueError:
            continue
        total += 1
        rest = p[1] if len(p) > 1 else ''
        if lo <= ip <= hi:
            k = bisect.bisect_right(addrs, ip) - 1
            if k >= 0 and ip - addrs[k] < 16 and not (k + 1 < len(addrs) and addrs[k + 1] <= ip):
                if SHIFT and k > 0 and owner[k - 1] == owner[k] and addrs[k] == ip:
                    k -= 1
                count['jit:' + classes[k]] += 1
                hot[blocks[owner[k]][0]] += 1
            else:
                count['jit:runtime (lookup miss, exit trampoline)'] += 1
            continue
        dso = rest[rest.rfind('(') + 1:rest.rfind(')')] if '(' in rest else ''
        sym = rest[:rest.rfind('(')].strip() if '(' in rest else rest
        count[host_class(sym, dso)] += 1
    print(f'samples {total}')
    for c, v in sorted(count.items(), key=lambda x: -x[1]):
        print(f'{100.0 * v / total:6.2f}%  {v:8d}  {c}')
    # ipc summary grouped
    groups = collections.Counter()
    for c, v in count.items():
        if c.startswith('jit:'):
            g = c[4:].split(':')[0]
            groups['jit ' + g] += v
        else:
            groups[c.split(' (')[0]] += v
    print('--- grouped')
    for c, v in sorted(groups.items(), key=lambda x: -x[1]):
        print(f'{100.0 * v / total:6.2f}%  {c}')
    nb = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == '--blocks' else 0
    if nb:
        byaddr = {b[0]: b for b in blocks}
        print('--- hottest blocks')
        for base, v in hot.most_common(nb):
            b = byaddr[base]
            cs = collections.Counter(classify(b[1]))
            print(f'{100.0 * v / total:6.2f}% host {base:#x} insns {len(b[1])} classes {dict(cs)}')


main()
