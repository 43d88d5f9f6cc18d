//! `Value::decode` allocates a fixed number of times per decode, however many lists and
//! dictionaries the input holds (one arena per decode), counted for the calling thread
//! only by the common counting allocator.

mod common;

use btdht::bencode::Value;
use common::counting::allocations_during;
use common::inputs;

#[global_allocator]
static A: common::counting::Counting = common::counting::Counting;

/// A file list of `files` entries, each a dictionary with a length and a path list of
/// two to four strings, inside a torrent-shaped document.
fn file_list(files: usize) -> Vec<u8> {
    let mut v = b"d4:infod5:filesl".to_vec();
    for i in 0..files {
        v.extend(format!("d6:lengthi{}e4:pathl", 1000 + i * 7919).as_bytes());
        for level in 0..(i % 3) {
            let dir = format!("dir-{level}");
            v.extend(format!("{}:{dir}", dir.len()).as_bytes());
        }
        let name = format!("file-{i:05}.bin");
        v.extend(format!("{}:{name}ee", name.len()).as_bytes());
    }
    v.extend(b"e4:name4:testee");
    v
}

/// Lists of dictionaries of lists, `items` of them, nested four deep.
fn nested(items: usize) -> Vec<u8> {
    let mut v = b"l".to_vec();
    for i in 0..items {
        v.extend(format!("d1:ald1:bli{i}e3:xyzeee1:ci{i}ee").as_bytes());
    }
    v.push(b'e');
    v
}

fn decode_allocations(bytes: &[u8]) -> usize {
    let (doc, n) = allocations_during(|| Value::decode(bytes).map(|d| d.encoded_len()));
    assert_eq!(
        doc,
        Ok(bytes.len()),
        "decodes, and re-encodes to its length"
    );
    n
}

#[test]
fn the_counter_sees_allocations() {
    let (v, n) = allocations_during(|| vec![1u8; 10]);
    assert_eq!(v.len(), 10);
    assert_eq!(
        n, 1,
        "the counting allocator must count, or the other tests prove nothing"
    );
}

#[test]
fn value_decode_allocations_do_not_grow_with_the_number_of_lists_and_dicts() {
    for (name, make) in [
        ("file list", file_list as fn(usize) -> Vec<u8>),
        ("nested", nested),
    ] {
        let few = decode_allocations(&make(10));
        let many = decode_allocations(&make(1000));
        let more = decode_allocations(&make(5000));
        assert!(few <= 4, "{name}: {few} allocations for 10 items");
        assert_eq!((few, few), (many, more), "{name}: 10, 1000, 5000 items");
    }
}

#[test]
fn value_decode_of_every_standard_input_allocates_once() {
    for (name, bytes) in [
        ("ping_query", inputs::ping_query()),
        ("find_node_response", inputs::find_node_response()),
        ("get_peers_response", inputs::get_peers_response()),
        ("torrent_like", inputs::torrent_like()),
        ("torrent_heavy", inputs::torrent_heavy()),
    ] {
        let n = decode_allocations(&bytes);
        assert_eq!(n, 1, "{name}");
    }
}

#[test]
fn value_decode_of_a_lone_integer_or_string_allocates_nothing() {
    assert_eq!(decode_allocations(b"i42e"), 0);
    assert_eq!(decode_allocations(b"5:hello"), 0);
}

#[test]
fn value_decode_allocates_at_most_four_times_on_the_densest_input() {
    // One value per two bytes, each copied once when its dictionary closes: the arena
    // needs as many slots as the input has bytes, eight times what it reserves.
    let mut dense = b"l".to_vec();
    for _ in 0..10_000 {
        dense.extend(b"d0:lee");
    }
    dense.push(b'e');
    assert_eq!(decode_allocations(&dense), 4);
    let strings = [&b"l"[..], &b"0:".repeat(20_000), b"e"].concat();
    assert_eq!(
        decode_allocations(&strings),
        3,
        "one value per two bytes, none copied"
    );
}
