import re, os, statistics, sys
P=os.environ.get('OUT', '/tmp/measure/prof')
order=['python3','lua5.4','sqlite3','gcc-O2','interp-static','interp-dyn','sort-static','sort-dyn','spectral-static','spectral-dyn','matmul-static','matmul-dyn','strmem-static','strmem-dyn']
def tc(f):
    return [float(x) for x in re.findall(r'([\d.]+) msec task-clock', open(f).read())]
def grouped(f):
    g={}; on=False
    for l in open(f):
        if l.startswith('--- grouped'): on=True; continue
        if l.startswith('---'): on=False
        if on:
            p=l.split(None,1); g[p[1].strip()]=float(p[0].rstrip('%'))
    return g
rows1=[];rows2=[]
for w in order:
    d=f'{P}/{w}'
    if not os.path.exists(f'{d}/classes-shift.txt'): continue
    n=tc(f'{d}/native.stat'); t=tc(f'{d}/tern.stat')
    st=dict(re.findall(r'^\s+([a-z: -]+?)\s{2,}(\d+)$', open(f'{d}/stats.txt').read(), re.M))
    nm=statistics.median(n); tm=statistics.median(t)
    tr=int(st['translation us'])/1000
    rows1.append(f"| {w} | {nm:.0f} ({min(n):.0f}-{max(n):.0f}) | {tm:.0f} ({min(t):.0f}-{max(t):.0f}) | {tm/nm:.2f}x | {tr:.1f} ms ({100*tr/tm:.1f}%) | {st['blocks translated']} | {st['exits: direct']} | {st['exits: indirect']} | {st['exits: syscall']} | {int(st['exits: cpuid'])+int(st['exits: xgetbv'])} | {int(st['exits: fault'])+int(st['exits: signal'])+int(st['exits: emulate'])+int(st['exits: trap'])} |")
    g=grouped(f'{d}/classes-shift.txt'); g0=grouped(f'{d}/classes.txt')
    def v(k, gg=g): return gg.get(k,0.0)
    tern_other=sum(x for k,x in g.items() if k.startswith('tern:') and k!='tern:translate')
    other=sum(x for k,x in g.items() if k.startswith('other:'))
    rows2.append(f"| {w} | {v('jit guest'):.1f} | {v('jit ret'):.1f} | {v('jit ijmp'):.1f} | {v('jit icall'):.1f} | {v('jit plt'):.1f} | {v('jit call-push'):.1f} | {v('jit fs-glue'):.1f} | {v('jit riprel-glue'):.1f} | {v('jit nop-pad'):.1f} ({v('jit nop-pad',g0):.1f}) | {v('jit direct-jmp')+v('jit exit-stub')+v('jit other-glue'):.1f} | {sum(x for k,x in g.items() if k.startswith('jit runtime')):.1f} | {v('tern:translate'):.1f} | {tern_other+other:.1f} | {v('kernel'):.1f} |")
print('| workload | native task-clock ms (min-max) | tern --no-traces ms (min-max) | ratio | translation (share of tern) | blocks | exits: direct | exits: indirect (IBL misses) | exits: syscall | exits: cpuid/xgetbv | exits: other |')
print('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
print('\n'.join(rows1)); print()
print('| workload | guest insns | ret | indirect jmp | indirect call | PLT jmp | call push | FS glue | RIP-rel glue | nop pad (at IP) | direct jmp / stubs | runtime (miss, trampoline) | tern: translate | tern: other + its libc | kernel |')
print('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
print('\n'.join(rows2))
