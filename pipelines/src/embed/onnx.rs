//! ONNX embedding models through fastembed.
