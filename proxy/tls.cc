#include "proxy/tls.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <cstring>

#include "core/io/x509.h"
#include "proxy/tls_stream.h"

namespace cairn::proxy {

namespace asio = boost::asio;

namespace {

std::string openssl_error() {
  unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

BioPtr mem_bio(const std::string& pem) { return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))); }

std::vector<X509Ptr> read_certs(const std::string& pem) {
  std::vector<X509Ptr> out;
  auto bio = mem_bio(pem);
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
  ERR_clear_error();  // the loop ends on "no start line"
  return out;
}

// The first spiffe:// URI SAN, "" when there is none (core/io/x509 reads SANs).
std::string uri_san(X509* cert) {
  auto uri = io::x509::spiffe_uri_of(cert);
  return uri.ok() ? std::move(*uri) : std::string();
}

// A client session (a ticket) arrived: keep it under the leg's key.
int keep_session(SSL* ssl, SSL_SESSION* session) {
  auto* leg_key = static_cast<const std::string*>(SSL_get_app_data(ssl));
  auto* impl = static_cast<TlsContexts::Impl*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (!leg_key || leg_key->empty() || !impl) return 0;
  std::lock_guard l(impl->sessions_mu);
  auto [it, fresh] = impl->sessions.try_emplace(*leg_key, session);
  if (!fresh) {
    SSL_SESSION_free(it->second);
    it->second = session;
  }
  return 1;  // we own the reference now
}

// Both sides: TLS 1.3 only, our leaf, the bundle as the only trust anchors,
// peer verification. AES-128-GCM first: both ends are ours, and it is the
// cheapest suite on CPUs with AES-NI.
Status setup(SSL_CTX* ctx, const std::vector<X509Ptr>& chain, EVP_PKEY* key, const std::vector<X509Ptr>& roots,
             bool server) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION);
  // Release buffers: an idle connection holds no record buffers.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  // Read-ahead: one recv takes as many records as the socket has (up to
  // 64 KiB) instead of a header and a body per record.
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_default_read_buffer_len(ctx, 64 * 1024);
  if (SSL_CTX_use_certificate(ctx, chain[0].get()) != 1)
    return Error(errc::invalid_argument, "leaf.cert_pem: " + openssl_error());
  for (size_t i = 1; i < chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1)
      return Error(errc::invalid_argument, "leaf.cert_pem: intermediate: " + openssl_error());
  }
  if (SSL_CTX_use_PrivateKey(ctx, key) != 1) return Error(errc::invalid_argument, "leaf.key_pem: " + openssl_error());
  if (SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return Error(errc::invalid_argument, "leaf.key_pem: does not match leaf.cert_pem");
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (const auto& r : roots) X509_STORE_add_cert(store, r.get());
  // Resumption (TLS 1.3 tickets, stateless on the server): a resumed
  // connection skips the certificate signatures, most of a handshake's CPU.
  // Safe here because tickets die with the contexts — every new leaf or
  // bundle makes new contexts, whose fresh ticket keys refuse old tickets —
  // and last 5 minutes at most; the caller's identity comes from the session
  // and is authorized on every connection all the same.
  SSL_CTX_set_timeout(ctx, 300);
  if (server) {
    SSL_CTX_set_num_tickets(ctx, 1);
    static const unsigned char kSessionContext[] = "cairn-proxy";
    SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, keep_session);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  return {};
}

}  // namespace

Result<std::shared_ptr<const TlsContexts>> TlsContexts::make(const LeafCertificate& leaf, const TrustBundle& bundle) {
  auto chain = read_certs(leaf.cert_pem);
  if (chain.empty()) return Error(errc::invalid_argument, "leaf.cert_pem: no PEM certificate");
  auto roots = read_certs(bundle.roots_pem);
  if (roots.empty()) return Error(errc::invalid_argument, "trust_bundle: no PEM certificate");
  auto kb = mem_bio(leaf.key_pem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr);
  if (!key) {
    ERR_clear_error();
    return Error(errc::invalid_argument, "leaf.key_pem: no PEM private key");
  }
  std::string uri = uri_san(chain[0].get());
  auto id = parse_spiffe_id(uri);
  if (!id) {
    EVP_PKEY_free(key);
    return Error(errc::invalid_argument, "leaf.cert_pem: no SPIFFE service ID: " + id.error().detail());
  }
  auto impl = std::make_unique<Impl>();
  impl->identity = *id;
  impl->server = SSL_CTX_new(TLS_server_method());
  impl->client = SSL_CTX_new(TLS_client_method());
  if (impl->client) SSL_CTX_set_app_data(impl->client, impl.get());
  Status s = (impl->server && impl->client) ? setup(impl->server, chain, key, roots, true)
                                            : Status(Error(errc::internal, "SSL_CTX_new: " + openssl_error()));
  if (s) s = setup(impl->client, chain, key, roots, false);
  EVP_PKEY_free(key);
  if (!s) return s.error();
  return std::shared_ptr<const TlsContexts>(new TlsContexts(std::move(impl)));
}

TlsContexts::TlsContexts(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsContexts::~TlsContexts() = default;
const SpiffeId& TlsContexts::identity() const { return impl_->identity; }

Result<std::string> spiffe_uri_of_pem(const std::string& cert_pem) {
  auto certs = read_certs(cert_pem);
  if (certs.empty()) return Error(errc::invalid_argument, "certificate: no PEM certificate");
  return io::x509::spiffe_uri_of(certs[0].get());
}

// ---- Leg ----

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// The write BIO of a TLS leg: appends ciphertext to the leg's std::string.
int out_write(BIO* b, const char* data, size_t size, size_t* written) {
  static_cast<std::string*>(BIO_get_data(b))->append(data, size);
  *written = size;
  return 1;
}
long out_ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }
int out_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

const BIO_METHOD* in_method() {
  static const BIO_METHOD* m = [] {
    BIO_METHOD* meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "cairn proxy in");
    BIO_meth_set_read_ex(meth, Leg::bio_read);
    BIO_meth_set_ctrl(meth, Leg::bio_ctrl);
    BIO_meth_set_create(meth, out_create);
    return meth;
  }();
  return m;
}

const BIO_METHOD* out_method() {
  static const BIO_METHOD* m = [] {
    BIO_METHOD* meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "cairn proxy out");
    BIO_meth_set_write_ex(meth, out_write);
    BIO_meth_set_ctrl(meth, out_ctrl);
    BIO_meth_set_create(meth, out_create);
    return meth;
  }();
  return m;
}

// The per-thread pool behind PooledBuffer: a buffer taken on one thread may
// come back on another (a coroutine moves between io threads); each thread's
// list is only touched by that thread.
struct BufferPool {
  std::vector<char*> free;
  ~BufferPool() {
    for (char* p : free) delete[] p;
  }
};
thread_local BufferPool pool;
constexpr size_t kPoolMax = 8;  // 512 KiB kept per thread at most

}  // namespace

PooledBuffer::PooledBuffer() {
  if (pool.free.empty()) {
    data_ = new char[kBytes];
  } else {
    data_ = pool.free.back();
    pool.free.pop_back();
  }
}

PooledBuffer::~PooledBuffer() {
  if (pool.free.size() < kPoolMax) pool.free.push_back(data_);
  else delete[] data_;
}

Leg::Leg(tcp::socket socket) : socket_(std::move(socket)), flushed_(socket_.get_executor()) {
  error_code ec;
  socket_.non_blocking(true, ec);  // read_available's synchronous reads never block
}

Leg::~Leg() {
  if (ssl_) SSL_free(ssl_);
}

bool Leg::start_tls(const std::shared_ptr<const TlsContexts>& ctx, bool server, const std::string& session_key) {
  ctx_ = ctx;
  ssl_ = SSL_new(server ? ctx->impl().server : ctx->impl().client);
  if (!ssl_) return false;
  if (!server && !session_key.empty()) {
    session_key_ = session_key;
    SSL_set_app_data(ssl_, &session_key_);
    auto& impl = ctx->impl();
    std::lock_guard l(impl.sessions_mu);
    if (auto it = impl.sessions.find(session_key); it != impl.sessions.end()) SSL_set_session(ssl_, it->second);
  }
  error_code ec;
  socket_.non_blocking(true, ec);
  BIO* in = BIO_new(in_method());
  BIO* out = BIO_new(out_method());
  if (ec || !in || !out) {
    BIO_free(in);
    BIO_free(out);
    return false;
  }
  BIO_set_data(in, this);
  BIO_set_data(out, &out_);
  SSL_set_bio(ssl_, in, out);
  if (server) SSL_set_accept_state(ssl_);
  else SSL_set_connect_state(ssl_);
  return true;
}

size_t Leg::send_now(const char* data, size_t size, error_code& ec) {
  size_t n = socket_.write_some(asio::buffer(data, size), ec);  // non-blocking: never waits
  if (ec == asio::error::would_block || ec == asio::error::try_again) ec = {};
  return n;
}

asio::awaitable<Leg::error_code> Leg::flush() {
  // The common case: nobody else is writing and the socket takes it all now
  // (one send, no reactor round, no posted completion).
  if (!flushing_ && !out_.empty()) {
    error_code ec;
    size_t n = send_now(out_.data(), out_.size(), ec);
    if (ec) co_return ec;
    out_.erase(0, n);
    if (out_.empty()) co_return error_code();
  }
  while (flushing_) {  // another coroutine of this leg is writing: wait for it
    flushed_.expires_at(asio::steady_timer::time_point::max());
    co_await flushed_.async_wait(kTuple);
  }
  flushing_ = true;
  error_code ec;
  while (!out_.empty() && !ec) {
    std::swap(out_, sending_);  // OpenSSL may append to out_ while this is written
    auto [wec, n] = co_await asio::async_write(socket_, asio::buffer(sending_), kTuple);
    ec = wec;
    sending_.clear();
  }
  flushing_ = false;
  flushed_.cancel();
  co_return ec;
}

int Leg::bio_read(BIO* b, char* out, size_t len, size_t* got) {
  auto* leg = static_cast<Leg*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  *got = 0;
  if (leg->in_pos_ < leg->in_len_) {
    size_t n = std::min(len, leg->in_len_ - leg->in_pos_);
    std::memcpy(out, leg->small_ + leg->in_pos_, n);
    leg->in_pos_ += n;
    *got = n;
    return 1;
  }
  if (leg->eof_) return 0;
  if (leg->more_) {  // a burst: receive straight into OpenSSL's buffer
    ssize_t r = ::recv(leg->socket_.native_handle(), out, len, 0);
    if (r > 0) {
      if (static_cast<size_t>(r) < len) leg->more_ = false;
      *got = static_cast<size_t>(r);
      return 1;
    }
    leg->more_ = false;
    if (r == 0) {
      leg->eof_ = true;
      return 0;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) return 0;
  }
  BIO_set_retry_read(b);
  return 0;
}

long Leg::bio_ctrl(BIO* b, int cmd, long, void*) {
  if (cmd == BIO_CTRL_FLUSH) return 1;
  if (cmd == BIO_CTRL_EOF) return static_cast<Leg*>(BIO_get_data(b))->eof_ ? 1 : 0;
  return 0;
}

asio::awaitable<Leg::error_code> Leg::fill() {
  // Called after read_available said would_block: whatever OpenSSL still
  // holds is a partial record, so the socket is what to wait for.
  if (in_pos_ < in_len_ || eof_) co_return error_code();
  auto [ec, n] = co_await socket_.async_read_some(asio::buffer(small_), kTuple);
  if (ec == asio::error::eof) {
    eof_ = true;
    co_return error_code();
  }
  if (ec) co_return ec;
  in_pos_ = 0;
  in_len_ = n;
  more_ = n == sizeof small_;
  co_return error_code();
}

asio::awaitable<bool> Leg::handshake(std::string& why, HandshakeTurns* turns) {
  for (;;) {
    if (turns && !co_await turns->acquire()) {
      why = "closed while waiting for a handshake turn";
      co_return false;
    }
    ERR_clear_error();
    int r = SSL_do_handshake(ssl_);
    if (turns) turns->release();
    int err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_, r);
    long verify = SSL_get_verify_result(ssl_);
    std::string failure;
    if (err != SSL_ERROR_NONE && err != SSL_ERROR_WANT_READ) {
      if (verify != X509_V_OK) failure = X509_verify_cert_error_string(verify);
      else if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN)
        failure = ERR_peek_last_error() ? openssl_error() : "connection closed during the handshake";
      else failure = openssl_error();
      ERR_clear_error();
    }
    // Send what the handshake wrote (our flight, or the alert on failure).
    if (auto ec = co_await flush(); ec && failure.empty() && err != SSL_ERROR_NONE) failure = ec.message();
    if (err == SSL_ERROR_NONE) co_return true;
    if (!failure.empty()) {
      why = failure;
      co_return false;
    }
    if (auto ec = co_await fill()) {
      why = ec.message();
      co_return false;
    }
    if (eof_ && in_pos_ == in_len_) {
      why = "connection closed during the handshake";
      co_return false;
    }
  }
}

std::string Leg::peer_spiffe_uri() {
  X509* peer = SSL_get0_peer_certificate(ssl_);
  return peer ? uri_san(peer) : std::string();
}

asio::awaitable<std::tuple<Leg::error_code, size_t>> Leg::read_available(char* data, size_t size) {
  if (!ssl_) {
    size_t total = 0;
    if (in_pos_ < in_len_) {
      total = std::min(size, in_len_ - in_pos_);
      std::memcpy(data, small_ + in_pos_, total);
      in_pos_ += total;
    }
    error_code ec;
    while (more_ && total < size) {
      size_t n = socket_.read_some(asio::buffer(data + total, size - total), ec);
      if (ec || n < size - total) more_ = false;
      total += n;
      if (ec == asio::error::eof) eof_ = true;
      if (ec) break;
    }
    if (total > 0) co_return std::tuple{error_code(), total};
    if (eof_) co_return std::tuple{error_code(asio::error::eof), size_t{0}};
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again) co_return std::tuple{ec, size_t{0}};
    co_return std::tuple{error_code(asio::error::would_block), size_t{0}};
  }
  // Nothing received and nothing buffered in OpenSSL (raw or decrypted):
  // SSL_read would only say WANT_READ, so do not ask it.
  if (in_pos_ == in_len_ && !more_ && !eof_ && SSL_has_pending(ssl_) == 0)
    co_return std::tuple{error_code(asio::error::would_block), size_t{0}};
  // Several records into one buffer: the plaintext side then writes once.
  // The error queue is cleared once here and after a failure (WANT_READ
  // leaves nothing in it).
  size_t total = 0;
  error_code ec;
  ERR_clear_error();
  while (total < size) {
    size_t n = 0;
    if (SSL_read_ex(ssl_, data + total, size - total, &n) == 1) {
      total += n;
      continue;
    }
    int err = SSL_get_error(ssl_, 0);
    if (err == SSL_ERROR_WANT_READ) {
      if (total == 0) ec = asio::error::would_block;
    } else if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && ERR_peek_last_error() == 0) ||
               (err == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
      // A close_notify, or a FIN without one (peers that just close). With
      // data already read, the end is reported by the next call.
      if (total == 0) ec = asio::error::eof;
    } else {
      if (total == 0) ec = asio::error::connection_reset;
    }
    if (err != SSL_ERROR_WANT_READ) ERR_clear_error();
    break;
  }
  // Reading may have made OpenSSL answer (an alert, a key update).
  if (!out_.empty()) {
    if (auto fec = co_await flush(); fec && !ec) ec = fec;
  }
  co_return std::tuple{ec, total};
}

asio::awaitable<Leg::error_code> Leg::write_all(const char* data, size_t size) {
  if (!ssl_) {
    // Try now; only what the socket did not take waits for the reactor.
    error_code ec;
    size_t n = send_now(data, size, ec);
    if (ec || n == size) co_return ec;
    auto [wec, m] = co_await asio::async_write(socket_, asio::buffer(data + n, size - n), kTuple);
    co_return wec;
  }
  // At most 64 KiB of plaintext per flush bounds out_.
  constexpr size_t kChunk = 64 * 1024;
  while (size > 0) {
    size_t chunk = std::min(size, kChunk), n = 0;
    ERR_clear_error();
    if (SSL_write_ex(ssl_, data, chunk, &n) != 1) {
      ERR_clear_error();
      co_return error_code(asio::error::connection_reset);
    }
    data += n;
    size -= n;
    if (auto ec = co_await flush()) co_return ec;
  }
  co_return error_code();
}

asio::awaitable<void> Leg::shutdown_send() {
  if (ssl_) {
    ERR_clear_error();
    SSL_shutdown(ssl_);  // writes close_notify into out_; does not wait for the peer's
    ERR_clear_error();
    co_await flush();
  }
  error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace cairn::proxy
