package ai.ferretstream.inferenceserver;

import ai.ferretstream.proto.inference.DataType;

/** Mapping between config.pbtxt data types and KServe v2 protocol datatype strings. */
final class DataTypes {

  private DataTypes() {}

  /** The protocol datatype ("FP16", "BYTES", …) of a config type. */
  static String protocol(DataType type) {
    return switch (type) {
      case TYPE_BOOL -> "BOOL";
      case TYPE_UINT8 -> "UINT8";
      case TYPE_UINT16 -> "UINT16";
      case TYPE_UINT32 -> "UINT32";
      case TYPE_UINT64 -> "UINT64";
      case TYPE_INT8 -> "INT8";
      case TYPE_INT16 -> "INT16";
      case TYPE_INT32 -> "INT32";
      case TYPE_INT64 -> "INT64";
      case TYPE_FP16 -> "FP16";
      case TYPE_FP32 -> "FP32";
      case TYPE_FP64 -> "FP64";
      case TYPE_STRING -> "BYTES";
      case TYPE_BF16 -> "BF16";
      case TYPE_INVALID, UNRECOGNIZED ->
          throw new IllegalArgumentException("data type " + type + " has no protocol datatype");
    };
  }
}
