//! `bpf(2)`: the guest memory behind `union bpf_attr`, per command.
//!
//! The kernel reads and writes through pointers inside the attributes (a
//! map's key and value, a program's instructions and verifier log, an
//! object's info and the arrays inside it), so the call is passed to the
//! host only once every such range is known ([`ranges`]) and `guard` has
//! checked it against tern's memory, as for any other pointer argument.
//! Offsets are those of `include/uapi/linux/bpf.h`; a field past the
//! `size` the guest gives reads as zero, as the kernel sees it
//! (`bpf_check_uarg_tail_zero`). A command tern does not describe is
//! checked as a call of the table's raw rows is: every word of its
//! attributes that points into tern's memory counts as a pointer, and the
//! kernel gives its own verdict on the rest.
//!
//! Sizes that live in the kernel (a map's key and value) are asked of the
//! host with `BPF_OBJ_GET_INFO_BY_FD` on the guest's descriptor, and the
//! kind of object behind an info request is read from the descriptor's
//! `/proc/self/fd` link (`anon_inode:bpf-map`, ...). What a program
//! does once loaded happens in the kernel (socket filters, tracing):
//! README's Compatibility section says what a guest sees of it.

/// How long the memory behind a pointer field is.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Len {
    /// A NUL-terminated string: its first byte is checked, as for a path.
    Str,
    /// The `u32` at this offset of the same structure, times `.1` bytes.
    U32(usize, u64),
    /// Records: the `u32` count at `.0` times the `u32` record size at `.1`.
    Records(usize, usize),
    /// The map's key (map descriptor at offset 0 of the attributes).
    Key,
    /// A batch position: the map's key, at least a `u32` (hash maps keep
    /// a bucket number there).
    Batch,
    /// The map's value, once per possible CPU for per-CPU maps.
    Value,
    /// `count` (the `u32` at this offset) keys of the map whose descriptor
    /// is at offset 36 (`batch.map_fd`).
    Keys(usize),
    /// As `Keys`, values.
    Values(usize),
    /// `fd_array`: `fd_array_cnt` descriptors when given, else at least one.
    FdArray,
    /// An array of `cnt` (the `u32` at this offset) string pointers, each
    /// string checked too (`kprobe_multi.syms`).
    StrArray(usize),
}

/// A pointer field: its offset, the length behind it, and whether the
/// kernel writes there.
type Field = (usize, Len, bool);

const R: bool = false;
const W: bool = true;

/// The commands, by number: name and pointer fields. `BPF_OBJ_GET_INFO_BY_FD`
/// and `BPF_LINK_CREATE` have more, found from the object and the attach
/// type ([`info_fields`], [`link_fields`]).
const COMMANDS: &[(&str, &[Field])] = &[
    ("BPF_MAP_CREATE", &[(80, Len::U32(88, 1), R)]),
    ("BPF_MAP_LOOKUP_ELEM", &[(8, Len::Key, R), (16, Len::Value, W)]),
    ("BPF_MAP_UPDATE_ELEM", &[(8, Len::Key, R), (16, Len::Value, R)]),
    ("BPF_MAP_DELETE_ELEM", &[(8, Len::Key, R)]),
    ("BPF_MAP_GET_NEXT_KEY", &[(8, Len::Key, R), (16, Len::Key, W)]),
    (
        "BPF_PROG_LOAD",
        &[
            (8, Len::U32(4, 8), R),
            (16, Len::Str, R),
            (32, Len::U32(28, 1), W),
            (80, Len::Records(88, 76), R),
            (96, Len::Records(104, 92), R),
            (120, Len::FdArray, R),
            (128, Len::Records(116, 136), R),
            (152, Len::U32(160, 1), R),
        ],
    ),
    ("BPF_OBJ_PIN", &[(0, Len::Str, R)]),
    ("BPF_OBJ_GET", &[(0, Len::Str, R)]),
    ("BPF_PROG_ATTACH", &[]),
    ("BPF_PROG_DETACH", &[]),
    (
        "BPF_PROG_TEST_RUN",
        &[
            (16, Len::U32(8, 1), R),
            (24, Len::U32(12, 1), W),
            (48, Len::U32(40, 1), R),
            (56, Len::U32(44, 1), W),
        ],
    ),
    ("BPF_PROG_GET_NEXT_ID", &[]),
    ("BPF_MAP_GET_NEXT_ID", &[]),
    ("BPF_PROG_GET_FD_BY_ID", &[]),
    ("BPF_MAP_GET_FD_BY_ID", &[]),
    ("BPF_OBJ_GET_INFO_BY_FD", &[(8, Len::U32(4, 1), W)]),
    (
        "BPF_PROG_QUERY",
        &[
            (16, Len::U32(24, 4), W),
            (32, Len::U32(24, 4), W),
            (40, Len::U32(24, 4), W),
            (48, Len::U32(24, 4), W),
        ],
    ),
    ("BPF_RAW_TRACEPOINT_OPEN", &[(0, Len::Str, R)]),
    ("BPF_BTF_LOAD", &[(0, Len::U32(16, 1), R), (8, Len::U32(20, 1), W)]),
    ("BPF_BTF_GET_FD_BY_ID", &[]),
    ("BPF_TASK_FD_QUERY", &[(16, Len::U32(12, 1), W)]),
    ("BPF_MAP_LOOKUP_AND_DELETE_ELEM", &[(8, Len::Key, R), (16, Len::Value, W)]),
    ("BPF_MAP_FREEZE", &[]),
    ("BPF_BTF_GET_NEXT_ID", &[]),
    (
        "BPF_MAP_LOOKUP_BATCH",
        &[(0, Len::Batch, R), (8, Len::Batch, W), (16, Len::Keys(32), W), (24, Len::Values(32), W)],
    ),
    (
        "BPF_MAP_LOOKUP_AND_DELETE_BATCH",
        &[(0, Len::Batch, R), (8, Len::Batch, W), (16, Len::Keys(32), W), (24, Len::Values(32), W)],
    ),
    ("BPF_MAP_UPDATE_BATCH", &[(16, Len::Keys(32), R), (24, Len::Values(32), R)]),
    ("BPF_MAP_DELETE_BATCH", &[(16, Len::Keys(32), R)]),
    ("BPF_LINK_CREATE", &[]),
    ("BPF_LINK_UPDATE", &[]),
    ("BPF_LINK_GET_FD_BY_ID", &[]),
    ("BPF_LINK_GET_NEXT_ID", &[]),
    ("BPF_ENABLE_STATS", &[]),
    ("BPF_ITER_CREATE", &[]),
    ("BPF_LINK_DETACH", &[]),
    ("BPF_PROG_BIND_MAP", &[]),
    ("BPF_TOKEN_CREATE", &[]),
    ("BPF_PROG_STREAM_READ_BY_FD", &[(0, Len::U32(8, 1), W)]),
];

const OBJ_GET_INFO_BY_FD: u64 = 15;
const LINK_CREATE: u64 = 28;
/// The largest `union bpf_attr` tern reads (the kernel's is 168 bytes).
pub const ATTR_MAX: usize = 256;
/// The largest info structure read (`bpf_prog_info` is 232 bytes).
const INFO_MAX: usize = 256;

/// The command's name (`--strace`), if tern knows it.
pub fn command_name(cmd: u64) -> Option<&'static str> {
    COMMANDS.get(usize::try_from(cmd).ok()?).map(|c| c.0)
}

/// A guest range the call reads or writes: address, length, written.
pub type Range = (u64, u64, bool);

/// The guest ranges behind the attributes `attr` (the bytes the guest
/// gave, at most `ATTR_MAX`) of command `cmd`, besides the attributes
/// themselves; `read` reads guest memory (false if it could not). None
/// for a command tern does not describe.
pub fn ranges(cmd: u64, attr: &[u8], read: &dyn Fn(u64, &mut [u8]) -> bool) -> Option<Vec<Range>> {
    let (_, fields) = usize::try_from(cmd).ok().and_then(|c| COMMANDS.get(c))?;
    let a = Fields::new(attr);
    let mut out = Vec::new();
    let mut map = MapSizes::default();
    for &(at, len, write) in fields.iter().chain(match cmd {
        LINK_CREATE => link_fields(a.u32(8)),
        _ => &[],
    }) {
        push(&a, at, len, write, &mut map, read, &mut out);
    }
    if cmd == OBJ_GET_INFO_BY_FD {
        let (info, info_len) = (a.u64(8), u64::from(a.u32(4)));
        let mut b = [0u8; INFO_MAX];
        let n = (info_len as usize).min(INFO_MAX);
        if info != 0 && read(info, &mut b[..n]) {
            let i = Fields::new(&b[..n]);
            for &(at, len, write) in info_fields(a.u32(0)) {
                push(&i, at, len, write, &mut map, read, &mut out);
            }
        }
    }
    Some(out)
}

/// The words of the attributes `attr`: what a command tern does not
/// describe may point through.
pub fn words(attr: &[u8]) -> impl Iterator<Item = u64> + '_ {
    attr.chunks(8).map(|w| Fields::new(w).u64(0))
}

/// The range of one field of `f`, if its pointer is set.
fn push(
    f: &Fields,
    at: usize,
    len: Len,
    write: bool,
    map: &mut MapSizes,
    read: &dyn Fn(u64, &mut [u8]) -> bool,
    out: &mut Vec<Range>,
) {
    let addr = f.u64(at);
    if addr == 0 {
        return;
    }
    let n = match len {
        Len::Str => 1,
        Len::U32(off, times) => u64::from(f.u32(off)) * times,
        Len::Records(count, size) => u64::from(f.u32(count)) * u64::from(f.u32(size)),
        Len::Key => map.get(f.u32(0)).key,
        Len::Batch => map.get(f.u32(36)).key.max(4),
        Len::Value => map.get(f.u32(0)).value,
        Len::Keys(count) => u64::from(f.u32(count)) * map.get(f.u32(36)).key,
        Len::Values(count) => u64::from(f.u32(count)) * map.get(f.u32(36)).value,
        Len::FdArray => u64::from(f.u32(148).max(1)) * 4,
        Len::StrArray(count) => {
            let cnt = u64::from(f.u32(count));
            for i in 0..cnt.min(1 << 20) {
                let mut p = [0u8; 8];
                if !read(addr + 8 * i, &mut p) {
                    break;
                }
                let s = u64::from_le_bytes(p);
                if s != 0 {
                    out.push((s, 1, false));
                }
            }
            cnt * 8
        }
    };
    out.push((addr, n.max(1), write));
}

/// `BPF_LINK_CREATE`'s pointers, by attach type (`enum bpf_attach_type`).
fn link_fields(attach_type: u32) -> &'static [Field] {
    match attach_type {
        // BPF_TRACE_ITER: iter_info.
        28 => &[(16, Len::U32(24, 1), R)],
        // BPF_TRACE_KPROBE_MULTI, BPF_TRACE_KPROBE_SESSION.
        42 | 56 => &[(24, Len::StrArray(20), R), (32, Len::U32(20, 8), R), (40, Len::U32(20, 8), R)],
        // BPF_TRACE_UPROBE_MULTI, BPF_TRACE_UPROBE_SESSION.
        48 | 57 => {
            &[(16, Len::Str, R), (24, Len::U32(48, 8), R), (32, Len::U32(48, 8), R), (40, Len::U32(48, 8), R)]
        }
        // BPF_TRACE_FENTRY_MULTI, BPF_TRACE_FEXIT_MULTI, BPF_TRACE_FSESSION_MULTI.
        59..=61 => &[(16, Len::U32(32, 4), R), (24, Len::U32(32, 8), R)],
        _ => &[],
    }
}

/// The pointers inside the info structure of the object behind `fd`,
/// which the kernel writes through up to the lengths the guest gives.
fn info_fields(fd: u32) -> &'static [Field] {
    match object_kind(fd) {
        Some(Kind::Prog) => &[
            (24, Len::U32(16, 1), W),
            (32, Len::U32(20, 1), W),
            (56, Len::U32(52, 4), W),
            (112, Len::U32(104, 8), W),
            (120, Len::U32(108, 4), W),
            (136, Len::Records(144, 132), W),
            (152, Len::Records(148, 172), W),
            (160, Len::Records(168, 176), W),
            (184, Len::U32(180, 8), W),
        ],
        Some(Kind::Map) => &[(88, Len::U32(96, 1), W)],
        Some(Kind::Btf) => &[(0, Len::U32(8, 1), W), (16, Len::U32(24, 1), W)],
        Some(Kind::Link) => link_info_fields(fd),
        None => &[],
    }
}

/// `bpf_link_info`'s pointers, by the link's type (and, for a perf event
/// link, the event's).
fn link_info_fields(fd: u32) -> &'static [Field] {
    let mut b = [0u8; 24];
    if host_info(fd, &mut b).is_none() {
        return &[];
    }
    let f = Fields::new(&b);
    match (f.u32(0), f.u32(16)) {
        // BPF_LINK_TYPE_RAW_TRACEPOINT (tp_name), BPF_LINK_TYPE_ITER
        // (target_name).
        (1 | 4, _) => &[(16, Len::U32(24, 1), W)],
        // BPF_LINK_TYPE_KPROBE_MULTI: addrs, cookies.
        (8, _) => &[(16, Len::U32(24, 8), W), (40, Len::U32(24, 8), W)],
        // BPF_LINK_TYPE_UPROBE_MULTI: path, offsets, ref_ctr_offsets, cookies.
        (12, _) => &[
            (16, Len::U32(48, 1), W),
            (24, Len::U32(52, 8), W),
            (32, Len::U32(52, 8), W),
            (40, Len::U32(52, 8), W),
        ],
        // BPF_LINK_TYPE_TRACING_MULTI: ids, addrs, cookies.
        (15, _) => &[(32, Len::U32(20, 8), W), (40, Len::U32(20, 8), W), (48, Len::U32(20, 8), W)],
        // BPF_LINK_TYPE_PERF_EVENT of a uprobe, kprobe or tracepoint: the name.
        (7, 1..=5) => &[(24, Len::U32(32, 1), W)],
        _ => &[],
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Prog,
    Map,
    Link,
    Btf,
}

/// What the guest's descriptor `fd` is, from its `/proc/self/fd` link.
fn object_kind(fd: u32) -> Option<Kind> {
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
    match link.to_str()?.strip_prefix("anon_inode:")? {
        "bpf-prog" => Some(Kind::Prog),
        "bpf-map" => Some(Kind::Map),
        "bpf_link" | "bpf-link" => Some(Kind::Link),
        "btf" => Some(Kind::Btf),
        _ => None,
    }
}

/// `BPF_OBJ_GET_INFO_BY_FD` on `fd` into tern's `buf`.
fn host_info(fd: u32, buf: &mut [u8]) -> Option<()> {
    let mut attr = [0u64; 2];
    attr[0] = u64::from(fd) | (buf.len() as u64) << 32;
    attr[1] = buf.as_mut_ptr() as u64;
    // SAFETY: the attributes name `buf`, tern's, for `buf.len()` bytes; the
    // kernel writes at most that many there and reads 16 bytes of `attr`.
    let r = unsafe { libc::syscall(libc::SYS_bpf, OBJ_GET_INFO_BY_FD, attr.as_mut_ptr(), 16usize) };
    (r == 0).then_some(())
}

/// A map's key and value sizes as the kernel copies them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Sizes {
    key: u64,
    value: u64,
}

/// The sizes of the one map a command names, asked once.
#[derive(Default)]
struct MapSizes(Option<(u32, Sizes)>);

impl MapSizes {
    /// The sizes of map `fd`; for a descriptor that is no map, one byte
    /// each (the kernel refuses the call before it copies).
    fn get(&mut self, fd: u32) -> Sizes {
        match self.0 {
            Some((f, s)) if f == fd => s,
            _ => {
                let s = map_sizes(fd).unwrap_or(Sizes { key: 1, value: 1 });
                self.0 = Some((fd, s));
                s
            }
        }
    }
}

fn map_sizes(fd: u32) -> Option<Sizes> {
    // bpf_map_info: type, id, key_size, value_size.
    let mut b = [0u8; 16];
    host_info(fd, &mut b)?;
    let f = Fields::new(&b);
    let (kind, key, value) = (f.u32(0), u64::from(f.u32(8)), u64::from(f.u32(12)));
    // BPF_MAP_TYPE_PERCPU_HASH, _PERCPU_ARRAY, _LRU_PERCPU_HASH,
    // _PERCPU_CGROUP_STORAGE: a value per possible CPU, each rounded up to
    // 8 bytes (`bpf_map_value_size`).
    let value =
        if matches!(kind, 5 | 6 | 10 | 21) { value.next_multiple_of(8) * possible_cpus() } else { value };
    Some(Sizes { key, value })
}

/// The number of possible CPUs (`/sys/devices/system/cpu/possible`, as
/// libbpf reads it): per-CPU map values have one slot each.
fn possible_cpus() -> u64 {
    static N: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *N.get_or_init(|| {
        std::fs::read_to_string("/sys/devices/system/cpu/possible")
            .ok()
            .and_then(|s| parse_cpu_list(&s))
            .unwrap_or(1)
    })
}

/// The highest CPU of a list like `0-3,8` plus one.
fn parse_cpu_list(s: &str) -> Option<u64> {
    let last = s.trim().split(',').filter_map(|r| r.rsplit('-').next()?.parse::<u64>().ok()).max()?;
    Some(last + 1)
}

/// Little-endian fields of a structure read from the guest; bytes past
/// its end read as zero.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn new(b: &'a [u8]) -> Self {
        Fields(b)
    }

    fn u32(&self, at: usize) -> u32 {
        crate::le::u32_at(self.0, at)
    }

    fn u64(&self, at: usize) -> u64 {
        crate::le::u64_at(self.0, at)
    }
}

/// The bytes of the attributes the guest gives: at most `ATTR_MAX`.
pub fn attr_len(size: u64) -> usize {
    size.min(ATTR_MAX as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(fields: &[(usize, u64, usize)]) -> Vec<u8> {
        let mut b = vec![0u8; 168];
        for &(at, v, w) in fields {
            b[at..at + w].copy_from_slice(&v.to_le_bytes()[..w]);
        }
        b
    }

    fn no_read(_: u64, _: &mut [u8]) -> bool {
        false
    }

    #[test]
    fn command_names_follow_the_uapi_numbers() {
        assert_eq!(command_name(0), Some("BPF_MAP_CREATE"));
        assert_eq!(command_name(5), Some("BPF_PROG_LOAD"));
        assert_eq!(command_name(15), Some("BPF_OBJ_GET_INFO_BY_FD"));
        assert_eq!(command_name(28), Some("BPF_LINK_CREATE"));
        assert_eq!(command_name(36), Some("BPF_TOKEN_CREATE"));
        assert_eq!(command_name(37), Some("BPF_PROG_STREAM_READ_BY_FD"));
        assert_eq!(command_name(38), None);
    }

    #[test]
    fn unknown_commands_are_not_described() {
        assert_eq!(ranges(38, &[], &no_read), None);
        assert_eq!(ranges(1 << 16, &[], &no_read), None);
        assert_eq!(ranges(u64::MAX, &[], &no_read), None);
        let a = attr(&[(0, 7, 4), (8, 0x1000, 8)]);
        assert_eq!(words(&a[..12]).collect::<Vec<_>>(), vec![7, 0x1000]);
    }

    #[test]
    fn prog_load_ranges() {
        // 3 instructions, a license, a 100-byte log, 2 func_info records of 8.
        let a = attr(&[
            (4, 3, 4),
            (8, 0x1000, 8),
            (16, 0x2000, 8),
            (28, 100, 4),
            (32, 0x3000, 8),
            (76, 8, 4),
            (80, 0x4000, 8),
            (88, 2, 4),
        ]);
        let r = ranges(5, &a, &no_read).unwrap();
        assert_eq!(
            r,
            vec![(0x1000, 24, false), (0x2000, 1, false), (0x3000, 100, true), (0x4000, 16, false)]
        );
    }

    #[test]
    fn fields_past_the_given_size_read_as_zero() {
        let a = attr(&[(8, 0x1000, 8), (4, 3, 4)]);
        assert_eq!(ranges(5, &a[..6], &no_read).unwrap(), vec![]);
        assert_eq!(Fields::new(&a[..10]).u64(8), 0x1000 & 0xffff);
    }

    #[test]
    fn map_element_sizes_of_a_descriptor_that_is_no_map() {
        // fd 0 is no map: one byte each; the kernel refuses the call.
        let a = attr(&[(0, 0, 4), (8, 0x1000, 8), (16, 0x2000, 8)]);
        assert_eq!(ranges(1, &a, &no_read).unwrap(), vec![(0x1000, 1, false), (0x2000, 1, true)]);
    }

    #[test]
    fn kprobe_multi_symbols_are_each_checked() {
        let syms = [0x5000u64, 0, 0x6000];
        let read = |addr: u64, b: &mut [u8]| {
            let i = ((addr - 0x1000) / 8) as usize;
            b.copy_from_slice(&syms[i].to_le_bytes());
            true
        };
        let a = attr(&[(8, 42, 4), (20, 3, 4), (24, 0x1000, 8)]);
        let r = ranges(28, &a, &read).unwrap();
        assert_eq!(r, vec![(0x5000, 1, false), (0x6000, 1, false), (0x1000, 24, false)]);
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-1\n"), Some(2));
        assert_eq!(parse_cpu_list("0\n"), Some(1));
        assert_eq!(parse_cpu_list("0-3,8-11"), Some(12));
        assert_eq!(parse_cpu_list(""), None);
    }
}
