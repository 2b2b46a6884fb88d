//! The byte layout of the journal: a header, then records in two slots.
//!
//! Every part starts with a CRC-32 of the rest, so a torn write decodes as
//! nothing rather than as wrong values. Integers are little-endian.

use super::{Header, MAGIC, Phase, RECORD_HEADER_LEN, Record};

pub(super) fn encode_header(header: &Header) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&header.file_len.to_le_bytes());
    body.extend_from_slice(&(header.id.len() as u32).to_le_bytes());
    body.extend_from_slice(header.id.as_bytes());
    body.extend_from_slice(&(header.spans.len() as u32).to_le_bytes());
    for span in &header.spans {
        body.extend_from_slice(&span.start.to_le_bytes());
        body.extend_from_slice(&span.end.to_le_bytes());
    }
    let mut encoded = MAGIC.to_vec();
    encoded.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    encoded.extend_from_slice(&(body.len() as u32).to_le_bytes());
    encoded.extend_from_slice(&body);
    encoded
}

/// Decodes a header and returns it with its encoded length, or `None` if it
/// is torn.
pub(super) fn decode_header(bytes: &[u8]) -> Option<(Header, usize)> {
    let mut reader = Reader(bytes.strip_prefix(MAGIC.as_slice())?);
    let checksum = reader.u32()?;
    let body_len = reader.u32()? as usize;
    let body = reader.take(body_len)?;
    if crc32fast::hash(body) != checksum {
        return None;
    }
    let mut body = Reader(body);
    let file_len = body.u64()?;
    let id_len = body.u32()? as usize;
    let id = String::from_utf8(body.take(id_len)?.to_vec()).ok()?;
    let span_count = body.u32()? as usize;
    let spans = (0..span_count)
        .map(|_| Some(body.u64()?..body.u64()?))
        .collect::<Option<Vec<_>>>()?;
    let header = Header {
        id,
        file_len,
        spans,
    };
    Some((header, MAGIC.len() + 8 + body_len))
}

pub(super) fn encode_record(record: &Record) -> Vec<u8> {
    let mut body = Vec::with_capacity(RECORD_HEADER_LEN + record.data.len());
    body.extend_from_slice(&record.seq.to_le_bytes());
    body.push(record.phase as u8);
    body.extend_from_slice(&record.write_at.to_le_bytes());
    body.extend_from_slice(&record.read_at.to_le_bytes());
    body.extend_from_slice(&(record.data.len() as u32).to_le_bytes());
    body.extend_from_slice(&record.fingerprint_len.to_le_bytes());
    body.extend_from_slice(&record.fingerprint.to_le_bytes());
    body.extend_from_slice(&record.data);
    let mut encoded = crc32fast::hash(&body).to_le_bytes().to_vec();
    encoded.extend_from_slice(&body);
    encoded
}

/// Decodes the record at the start of `bytes`, or `None` if it is torn or
/// was never written.
pub(super) fn decode_record(bytes: &[u8]) -> Option<Record> {
    let mut reader = Reader(bytes);
    let checksum = reader.u32()?;
    let body_start = reader.0;
    let seq = reader.u64()?;
    let phase = match reader.u8()? {
        1 => Phase::Shift,
        2 => Phase::Truncate,
        3 => Phase::Folder,
        _ => return None,
    };
    let write_at = reader.u64()?;
    let read_at = reader.u64()?;
    let data_len = reader.u32()? as usize;
    let fingerprint_len = reader.u32()?;
    let fingerprint = reader.u32()?;
    let data = reader.take(data_len)?.to_vec();
    let body_len = RECORD_HEADER_LEN - 4 + data_len;
    if crc32fast::hash(&body_start[..body_len]) != checksum {
        return None;
    }
    Some(Record {
        seq,
        phase,
        write_at,
        read_at,
        fingerprint_len,
        fingerprint,
        data,
    })
}

/// Reads little-endian integers off the front of a byte slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let (taken, rest) = self.0.split_at_checked(len)?;
        self.0 = rest;
        Some(taken)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}
