#include "leadpipe/http/stream.hpp"

namespace leadpipe::http {

std::string_view to_string(StreamEnd e) {
  switch (e) {
    case StreamEnd::open: return "open";
    case StreamEnd::done: return "done";
    case StreamEnd::client_gone: return "client_gone";
    case StreamEnd::timeout: return "timeout";
    case StreamEnd::shutdown: return "shutdown";
    case StreamEnd::error: return "error";
  }
  return "unknown";
}

Response stream_response(int status, std::string content_type, StreamProducer produce) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.stream = std::make_shared<StreamBody>(StreamBody{std::move(produce)});
  return r;
}

}  // namespace leadpipe::http
