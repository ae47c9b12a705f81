//! Differential target for the pickle scanner's stack, mark-stack and memo tracking: the fuzz
//! input drives a generator of valid pickle programs (the same moves as
//! fixtures/pickle_differential.py, whose output tests/pickle_scan.rs checks against Python's own
//! unpickler). The generator knows which globals each program imports; the scan must list
//! exactly those, in order, and call the stream complete.
#![no_main]
use libfuzzer_sys::fuzz_target;

const MODULES: &[&str] = &["posix", "os", "posixpath", "builtins", "collections", "numpy", "pydoc", "io"];
const NAMES: &[&str] = &["system", "OrderedDict", "eval", "os.system", "PosixPath", "open"];

/// What the generator knows about a stack value.
#[derive(Clone, PartialEq)]
enum Kind {
    Str(String),
    List,
    Class,
    Other,
}

struct Generator<'a> {
    choices: &'a [u8],
    next: usize,
    out: Vec<u8>,
    stack: Vec<Kind>,
    marks: Vec<Vec<Kind>>,
    memo: std::collections::BTreeMap<u64, Kind>,
    globals: Vec<String>,
}

impl Generator<'_> {
    fn choose(&mut self, n: usize) -> usize {
        let byte = self.choices.get(self.next).copied().unwrap_or(0);
        self.next += 1;
        usize::from(byte) % n
    }

    fn text(&mut self) -> String {
        let pool: Vec<&str> = MODULES.iter().chain(NAMES).copied().collect();
        pool[self.choose(pool.len())].to_string()
    }

    fn push_str(&mut self, text: String) {
        let raw = text.as_bytes();
        match self.choose(4) {
            0 => {
                self.out.push(0x8c);
                self.out.push(raw.len() as u8);
            }
            1 => {
                self.out.push(b'X');
                self.out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
            }
            2 => {
                self.out.push(b'U');
                self.out.push(raw.len() as u8);
            }
            _ => {
                self.out.push(b'V');
                self.out.extend_from_slice(raw);
                self.out.push(b'\n');
                self.stack.push(Kind::Str(text));
                return;
            }
        }
        self.out.extend_from_slice(raw);
        self.stack.push(Kind::Str(text));
    }

    fn record(&mut self, name: String) {
        if !self.globals.contains(&name) {
            self.globals.push(name);
        }
    }

    fn step(&mut self) {
        let top_two_strs = matches!(self.stack.as_slice(), [.., Kind::Str(_), Kind::Str(_)]);
        match self.choose(12) {
            0 | 1 => {
                let text = self.text();
                self.push_str(text);
            }
            2 => {
                self.out.push(b']');
                self.stack.push(Kind::List);
            }
            3 => {
                self.out.push(b'(');
                self.marks.push(std::mem::take(&mut self.stack));
            }
            4 if !self.stack.is_empty() || !self.marks.is_empty() => {
                self.out.push(b'0');
                if self.stack.pop().is_none() {
                    self.stack = self.marks.pop().unwrap();
                }
            }
            5 if !self.marks.is_empty() => {
                let closed_tuple = self.choose(2) == 0;
                self.out.push(if closed_tuple { b't' } else { b'1' });
                self.stack = self.marks.pop().unwrap();
                if closed_tuple {
                    self.stack.push(Kind::Other);
                }
            }
            6 if !self.stack.is_empty() => {
                self.out.push(b'2');
                let top = self.stack.last().unwrap().clone();
                self.stack.push(top);
            }
            7 if !self.stack.is_empty() => {
                let key = if self.choose(2) == 0 {
                    self.out.push(0x94);
                    self.memo.len() as u64
                } else {
                    let key = self.choose(8) as u64;
                    self.out.extend_from_slice(&[b'q', key as u8]);
                    key
                };
                self.memo.insert(key, self.stack.last().unwrap().clone());
            }
            8 if !self.memo.is_empty() => {
                let keys: Vec<u64> = self.memo.keys().copied().collect();
                let key = keys[self.choose(keys.len())];
                self.out.extend_from_slice(&[b'j']);
                self.out.extend_from_slice(&(key as u32).to_le_bytes());
                self.stack.push(self.memo[&key].clone());
            }
            9 if matches!(self.stack.as_slice(), [.., Kind::List, _]) => {
                self.out.push(b'a');
                self.stack.pop();
            }
            10 if top_two_strs => {
                self.out.push(0x93);
                let (Some(Kind::Str(name)), Some(Kind::Str(module))) = (self.stack.pop(), self.stack.pop()) else { unreachable!() };
                self.record(format!("{module}.{name}"));
                self.stack.push(Kind::Class);
            }
            11 => {
                let (module, name) = (MODULES[self.choose(MODULES.len())], NAMES[self.choose(NAMES.len())]);
                self.out.push(b'c');
                self.out.extend_from_slice(format!("{module}\n{name}\n").as_bytes());
                self.record(format!("{module}.{name}"));
                self.stack.push(Kind::Class);
            }
            _ => {
                self.out.push(b'N');
                self.stack.push(Kind::Other);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut generator = Generator {
        choices: data,
        next: 0,
        out: Vec::new(),
        stack: Vec::new(),
        marks: Vec::new(),
        memo: Default::default(),
        globals: Vec::new(),
    };
    // One pickle per 64 choices, the memo shared as one unpickler shares it.
    while generator.next < data.len() {
        generator.stack.clear();
        generator.marks.clear();
        generator.out.extend_from_slice(b"\x80\x04");
        let end = generator.next + 64;
        while generator.next < end.min(data.len()) {
            generator.step();
        }
        if generator.stack.is_empty() {
            generator.out.push(b'N');
        }
        generator.out.push(b'.');
    }
    let scan = ready::pickle_scan::scan(&generator.out);
    assert_eq!(scan.imports, generator.globals, "{:?}", generator.out);
    assert!(scan.complete || generator.out.is_empty(), "{scan:?}");
});
