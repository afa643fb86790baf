//! The buffers rules inspect, the keywords that name them (sticky buffers and their older
//! content-modifier forms), and when in a flow each is available.

/// A buffer a rule can inspect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Buffer {
    /// A packet's payload (or, for TCP, the stream data it delivered).
    Payload,
    /// A DNS question name.
    DnsQuery,
    /// The TLS server name (SNI).
    TlsSni,
    /// The server certificate's subject.
    TlsCertSubject,
    /// The server certificate's issuer.
    TlsCertIssuer,
    /// The server certificate's serial, `XX:XX:...`.
    TlsCertSerial,
    /// The server certificate's SHA-1, `xx:xx:...`.
    TlsCertFingerprint,
    /// The TLS version, as Suricata prints it.
    TlsVersion,
    /// The client's JA3 hash.
    Ja3Hash,
    /// The server's JA3S hash.
    Ja3sHash,
    /// The client's JA4.
    Ja4Hash,
    /// The QUIC server name.
    QuicSni,
    /// The HTTP Host header.
    HttpHost,
    /// The normalised request target.
    HttpUri,
    /// The raw request target.
    HttpUriRaw,
    /// The request method.
    HttpMethod,
    /// The User-Agent header.
    HttpUserAgent,
    /// The request headers (`Name: value\r\n`...), or the response's on the way back.
    HttpHeader,
    /// The Cookie header (Set-Cookie on the way back).
    HttpCookie,
    /// The request body.
    HttpRequestBody,
    /// The response body.
    HttpResponseBody,
    /// The response status code.
    HttpStatCode,
    /// File contents (HTTP bodies).
    FileData,
    /// Header names, `\r\nName\r\nName\r\n\r\n`.
    HttpHeaderNames,
    /// The Content-Type header.
    HttpContentType,
    /// The request line.
    HttpRequestLine,
    /// Request line and headers, as sent.
    HttpStart,
    /// The protocol of the request line (`HTTP/1.1`).
    HttpProtocol,
    /// The Accept header.
    HttpAccept,
    /// The Accept-Encoding header.
    HttpAcceptEnc,
    /// The Accept-Language header.
    HttpAcceptLang,
    /// The Referer header.
    HttpReferer,
    /// The Connection header.
    HttpConnection,
    /// The Content-Length header.
    HttpContentLen,
    /// The response's reason phrase.
    HttpStatMsg,
    /// The response's status line.
    HttpResponseLine,
    /// The Server header.
    HttpServer,
    /// The Location header.
    HttpLocation,
}

impl Buffer {
    /// The buffer named by a sticky-buffer keyword.
    pub fn sticky(name: &str) -> Option<Buffer> {
        Some(match name {
            "dns.query" | "dns_query" => Buffer::DnsQuery,
            "tls.sni" => Buffer::TlsSni,
            "tls.cert_subject" => Buffer::TlsCertSubject,
            "tls.cert_issuer" => Buffer::TlsCertIssuer,
            "tls.cert_serial" => Buffer::TlsCertSerial,
            "tls.cert_fingerprint" => Buffer::TlsCertFingerprint,
            "tls.version" => Buffer::TlsVersion,
            "ja3.hash" | "ja3_hash" => Buffer::Ja3Hash,
            "tls_sni" => Buffer::TlsSni,
            "tls_cert_subject" => Buffer::TlsCertSubject,
            "tls_cert_issuer" => Buffer::TlsCertIssuer,
            "tls_cert_serial" => Buffer::TlsCertSerial,
            "tls_cert_fingerprint" => Buffer::TlsCertFingerprint,
            "ja3s.hash" => Buffer::Ja3sHash,
            "ja4.hash" => Buffer::Ja4Hash,
            "quic.sni" => Buffer::QuicSni,
            "http.host" => Buffer::HttpHost,
            "http.uri" => Buffer::HttpUri,
            "http.uri.raw" => Buffer::HttpUriRaw,
            "http.method" => Buffer::HttpMethod,
            "http.user_agent" => Buffer::HttpUserAgent,
            "http.header" => Buffer::HttpHeader,
            "http.cookie" => Buffer::HttpCookie,
            "http.request_body" | "http_client_body_sticky" => Buffer::HttpRequestBody,
            "http.response_body" => Buffer::HttpResponseBody,
            "http.stat_code" => Buffer::HttpStatCode,
            "file.data" | "file_data" => Buffer::FileData,
            "http.header_names" | "http_header_names" => Buffer::HttpHeaderNames,
            "http.content_type" | "http_content_type" => Buffer::HttpContentType,
            "http.request_line" | "http_request_line" => Buffer::HttpRequestLine,
            "http.start" | "http_start" => Buffer::HttpStart,
            "http.protocol" | "http_protocol" => Buffer::HttpProtocol,
            "http.accept" | "http_accept" => Buffer::HttpAccept,
            "http.accept_enc" | "http_accept_enc" => Buffer::HttpAcceptEnc,
            "http.accept_lang" | "http_accept_lang" => Buffer::HttpAcceptLang,
            "http.referer" | "http_referer" => Buffer::HttpReferer,
            "http.connection" | "http_connection" => Buffer::HttpConnection,
            "http.content_len" | "http_content_len" => Buffer::HttpContentLen,
            "http.stat_msg" => Buffer::HttpStatMsg,
            "http.response_line" | "http_response_line" => Buffer::HttpResponseLine,
            "http.server" | "http_server" => Buffer::HttpServer,
            "http.location" | "http_location" => Buffer::HttpLocation,
            _ => return None,
        })
    }

    /// The buffer named by an older content modifier (`content:"x"; http_uri;`).
    ///
    /// The legacy names of the newer HTTP buffers (`http_content_type`, `http_accept`, ...)
    /// are sticky buffers in Suricata, not modifiers, and live in [`Buffer::sticky`].
    pub fn modifier(name: &str) -> Option<Buffer> {
        Some(match name {
            "http_uri" => Buffer::HttpUri,
            "http_raw_uri" => Buffer::HttpUriRaw,
            "http_method" => Buffer::HttpMethod,
            "http_host" | "http_raw_host" => Buffer::HttpHost,
            "http_user_agent" => Buffer::HttpUserAgent,
            "http_header" | "http_raw_header" => Buffer::HttpHeader,
            "http_cookie" => Buffer::HttpCookie,
            "http_client_body" => Buffer::HttpRequestBody,
            "http_server_body" => Buffer::HttpResponseBody,
            "http_stat_code" => Buffer::HttpStatCode,
            "http_stat_msg" => Buffer::HttpStatMsg,
            _ => return None,
        })
    }

    /// The application protocol the buffer belongs to (`None` for the payload).
    pub fn app(self) -> Option<&'static str> {
        Some(match self {
            Buffer::Payload => return None,
            Buffer::DnsQuery => "dns",
            Buffer::TlsSni
            | Buffer::TlsCertSubject
            | Buffer::TlsCertIssuer
            | Buffer::TlsCertSerial
            | Buffer::TlsCertFingerprint
            | Buffer::TlsVersion
            | Buffer::Ja3Hash
            | Buffer::Ja3sHash
            | Buffer::Ja4Hash => "tls",
            Buffer::QuicSni => "quic",
            _ => "http",
        })
    }

    /// Whether the buffer comes from the server's side of the conversation.
    pub fn to_client(self) -> bool {
        matches!(
            self,
            Buffer::TlsCertSubject
                | Buffer::TlsCertIssuer
                | Buffer::TlsCertSerial
                | Buffer::TlsCertFingerprint
                | Buffer::TlsVersion
                | Buffer::Ja3sHash
                | Buffer::HttpResponseBody
                | Buffer::HttpStatCode
                | Buffer::FileData
                | Buffer::HttpStatMsg
                | Buffer::HttpResponseLine
                | Buffer::HttpServer
                | Buffer::HttpLocation
        )
    }
}

/// A transformation applied to a buffer before inspection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transform {
    /// Prepends a dot, so `.example.com` matches `example.com` and its subdomains only.
    DotPrefix,
}

impl Transform {
    /// The transformation named by a keyword.
    pub fn named(name: &str) -> Option<Transform> {
        match name {
            "dotprefix" => Some(Transform::DotPrefix),
            _ => None,
        }
    }

    /// Applies it.
    pub fn apply(self, data: &[u8]) -> Vec<u8> {
        match self {
            Transform::DotPrefix => {
                let mut v = Vec::with_capacity(data.len() + 1);
                v.push(b'.');
                v.extend_from_slice(data);
                v
            }
        }
    }
}
