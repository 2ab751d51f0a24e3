//! The link's frame decoder on arbitrary bytes: never a panic, and every frame it accepts is
//! canonical (re-encoding the message gives back the same bytes). The same bytes pushed through
//! the streaming `Decoder` in chunks give the same messages and the same kind of error.
#![no_main]

use ixi_link_proto::codec::{Decoder, decode, to_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte sets the chunk size of the streaming pass.
    let Some((&chunk, data)) = data.split_first() else {
        return;
    };
    let mut whole = Vec::new();
    let mut rest = data;
    let whole_error = loop {
        let before = rest;
        match decode(&mut rest) {
            Ok(Some(message)) => {
                let used = &before[..before.len() - rest.len()];
                assert_eq!(to_frame(&message), used, "{message:?} is not canonical");
                whole.push(message);
            }
            Ok(None) => {
                assert_eq!(rest, before, "an incomplete frame must not be consumed");
                break None;
            }
            Err(e) => break Some(e),
        }
    };

    let mut decoder = Decoder::new();
    let mut streamed = Vec::new();
    let mut stream_error = None;
    'feed: for piece in data.chunks(usize::from(chunk).max(1)) {
        decoder.push(piece);
        loop {
            match decoder.next_message() {
                Ok(Some(message)) => streamed.push(message),
                Ok(None) => break,
                Err(e) => {
                    stream_error = Some(e);
                    break 'feed;
                }
            }
        }
    }
    assert_eq!(streamed, whole, "chunked decoding differs");
    // The same kind of error: its detail may differ, as a header is refused as soon as its
    // first wrong byte arrives and an error names only the bytes that had arrived.
    assert_eq!(
        stream_error.as_ref().map(std::mem::discriminant),
        whole_error.as_ref().map(std::mem::discriminant),
        "chunked decoding fails differently: {stream_error:?} / {whole_error:?}"
    );
});
