//! Names of TLS numbers as Zeek and Suricata print them.

/// Zeek's name of a protocol version (`TLSv12`...).
pub fn zeek_version(v: u16) -> String {
    match v {
        0x0002 => "SSLv2".into(),
        0x0300 => "SSLv3".into(),
        0x0301 => "TLSv10".into(),
        0x0302 => "TLSv11".into(),
        0x0303 => "TLSv12".into(),
        0x0304 => "TLSv13".into(),
        0xfeff => "DTLSv10".into(),
        0xfefd => "DTLSv12".into(),
        0xfefc => "DTLSv13".into(),
        v if v >> 8 == 0x7f => format!("TLSv13-draft{}", v & 0xff),
        v => format!("unknown-{v}"),
    }
}

/// Suricata's name of a protocol version (`TLS 1.2`...).
pub fn eve_version(v: u16) -> String {
    match v {
        0x0002 => "SSLv2".into(),
        0x0300 => "SSLv3".into(),
        0x0301 => "TLSv1".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        0xfeff => "DTLS 1.0".into(),
        0xfefd => "DTLS 1.2".into(),
        v if v >> 8 == 0x7f => format!("TLS 1.3 draft-{}", v & 0xff),
        _ => "UNDETERMINED".into(),
    }
}

/// The IANA name of a cipher suite, `unknown-N` otherwise.
pub fn cipher(id: u16) -> String {
    match tls_parser::TlsCipherSuite::from_id(id) {
        Some(c) => c.name.to_string(),
        None => format!("unknown-{id}"),
    }
}

/// Zeek's name of a named group (curve).
pub fn curve(id: u16) -> String {
    let n = match id {
        1 => "sect163k1",
        2 => "sect163r1",
        3 => "sect163r2",
        4 => "sect193r1",
        5 => "sect193r2",
        6 => "sect233k1",
        7 => "sect233r1",
        8 => "sect239k1",
        9 => "sect283k1",
        10 => "sect283r1",
        11 => "sect409k1",
        12 => "sect409r1",
        13 => "sect571k1",
        14 => "sect571r1",
        15 => "secp160k1",
        16 => "secp160r1",
        17 => "secp160r2",
        18 => "secp192k1",
        19 => "secp192r1",
        20 => "secp224k1",
        21 => "secp224r1",
        22 => "secp256k1",
        23 => "secp256r1",
        24 => "secp384r1",
        25 => "secp521r1",
        26 => "brainpoolP256r1",
        27 => "brainpoolP384r1",
        28 => "brainpoolP512r1",
        29 => "x25519",
        30 => "x448",
        256 => "ffdhe2048",
        257 => "ffdhe3072",
        258 => "ffdhe4096",
        259 => "ffdhe6144",
        260 => "ffdhe8192",
        0x0200 => "MLKEM512",
        0x0201 => "MLKEM768",
        0x0202 => "MLKEM1024",
        0x11eb => "SecP256r1MLKEM768",
        0x11ec => "X25519MLKEM768",
        0x11ed => "SecP384r1MLKEM1024",
        0x6399 => "X25519Kyber768Draft00",
        0x639a => "SecP256r1Kyber768Draft00",
        0xff01 => "arbitrary_explicit_prime_curves",
        0xff02 => "arbitrary_explicit_char2_curves",
        id if super::parser::is_grease(id) => return format!("grease-{id}"),
        id => return format!("unknown-{id}"),
    };
    n.to_string()
}

/// The name of an alert description (`handshake_failure`...).
pub fn alert(desc: u8) -> String {
    let n = match desc {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        121 => "ech_required",
        d => return format!("unknown-{d}"),
    };
    n.to_string()
}

/// Zeek's `ssl_history` letter of a handshake message type (upper case; the responder's
/// messages are written in lower case).
pub fn history_letter(msg_type: u8) -> u8 {
    match msg_type {
        0 => b'H',
        1 => b'C',
        2 => b'S',
        3 => b'V',
        4 => b'T',
        5 => b'E',
        6 => b'J',
        8 => b'O',
        11 => b'X',
        12 => b'K',
        13 => b'R',
        14 => b'N',
        15 => b'Y',
        16 => b'G',
        20 => b'F',
        21 => b'W',
        22 => b'U',
        23 => b'A',
        24 => b'P',
        254 => b'M',
        _ => b'Z',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(zeek_version(0x0303), "TLSv12");
        assert_eq!(eve_version(0x0304), "TLS 1.3");
        assert_eq!(cipher(0xc011), "TLS_ECDHE_RSA_WITH_RC4_128_SHA");
        assert_eq!(cipher(0xfefe), "unknown-65278");
        assert_eq!(curve(23), "secp256r1");
        assert_eq!(alert(40), "handshake_failure");
        assert_eq!(history_letter(1), b'C');
    }
}
