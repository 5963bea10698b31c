//! The frames exchanged with a child process over its stdin and stdout: a 4-byte big-endian
//! length, then that many bytes of JSON. A length prefix rather than lines, so that a message
//! of any size is read with one allocation and no scan for the end.

use serde::Serialize;
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Largest frame either side accepts; the Python programs have the same limit.
pub const MAX_FRAME: usize = 1 << 30;

/// The Python side of these frames (`frames.py`): the protocol's streams, `read_frame`,
/// `write_frame` and `error_message`.
const PYTHON_FRAMES: &str = include_str!("frames.py");

/// A Python program that speaks this protocol, as one `python -c` argument: the shared frame
/// functions, then `script`, which uses them.
pub fn python_program(script: &str) -> String {
    format!("{PYTHON_FRAMES}\n{script}")
}

/// Frames the message, JSON behind its length; `None` when it is larger than [`MAX_FRAME`].
pub fn frame<T: Serialize + ?Sized>(message: &T) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 4];
    // Serializing to memory fails only for maps with non-string keys, which no message has.
    serde_json::to_writer(&mut buf, message).ok()?;
    let len = u32::try_from(buf.len() - 4)
        .ok()
        .filter(|&n| n as usize <= MAX_FRAME)?;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    Some(buf)
}

/// Reads one frame's body. End of stream, even between frames, is an error: a child never
/// closes its output while its parent waits for an answer.
pub async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> io::Result<Vec<u8>> {
    let len = reader.read_u32().await? as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes is larger than the limit"),
        ));
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).await?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_and_bad_ones_are_errors() {
        let bytes = frame(&serde_json::json!({"op": "exit"})).unwrap();
        let body = read_frame(&mut bytes.as_slice()).await.unwrap();
        assert_eq!(body, br#"{"op":"exit"}"#);
        assert!(read_frame(&mut &bytes[..bytes.len() - 1]).await.is_err());
        assert!(read_frame(&mut &[0u8, 0][..]).await.is_err());
        let huge = (MAX_FRAME as u32 + 1).to_be_bytes();
        let err = read_frame(&mut &huge[..]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
