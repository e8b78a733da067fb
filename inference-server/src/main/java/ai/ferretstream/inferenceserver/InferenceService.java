package ai.ferretstream.inferenceserver;

import ai.ferretstream.inferenceserver.ModelBackend.ResponseSink;
import ai.ferretstream.inferenceserver.ModelRegistry.Slot;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc;
import ai.ferretstream.proto.inference.InferParameter;
import ai.ferretstream.proto.inference.ModelConfigRequest;
import ai.ferretstream.proto.inference.ModelConfigResponse;
import ai.ferretstream.proto.inference.ModelInferRequest;
import ai.ferretstream.proto.inference.ModelInferResponse;
import ai.ferretstream.proto.inference.ModelInferResponse.InferOutputTensor;
import ai.ferretstream.proto.inference.ModelInput;
import ai.ferretstream.proto.inference.ModelMetadataRequest;
import ai.ferretstream.proto.inference.ModelMetadataResponse;
import ai.ferretstream.proto.inference.ModelMetadataResponse.TensorMetadata;
import ai.ferretstream.proto.inference.ModelOutput;
import ai.ferretstream.proto.inference.ModelReadyRequest;
import ai.ferretstream.proto.inference.ModelReadyResponse;
import ai.ferretstream.proto.inference.ModelStatisticsRequest;
import ai.ferretstream.proto.inference.ModelStatisticsResponse;
import ai.ferretstream.proto.inference.ModelStreamInferResponse;
import ai.ferretstream.proto.inference.RepositoryIndexRequest;
import ai.ferretstream.proto.inference.RepositoryIndexResponse;
import ai.ferretstream.proto.inference.ServerLiveRequest;
import ai.ferretstream.proto.inference.ServerLiveResponse;
import ai.ferretstream.proto.inference.ServerMetadataRequest;
import ai.ferretstream.proto.inference.ServerMetadataResponse;
import ai.ferretstream.proto.inference.ServerReadyRequest;
import ai.ferretstream.proto.inference.ServerReadyResponse;
import ai.ferretstream.proto.inference.SystemSharedMemoryRegisterRequest;
import ai.ferretstream.proto.inference.SystemSharedMemoryRegisterResponse;
import ai.ferretstream.proto.inference.SystemSharedMemoryStatusRequest;
import ai.ferretstream.proto.inference.SystemSharedMemoryStatusResponse;
import ai.ferretstream.proto.inference.SystemSharedMemoryUnregisterRequest;
import ai.ferretstream.proto.inference.SystemSharedMemoryUnregisterResponse;
import ai.ferretstream.proto.triton.SharedMemory;
import ai.ferretstream.proto.triton.SharedMemoryRegions;
import com.google.protobuf.ByteString;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The KServe v2 / Triton {@code inference.GRPCInferenceService} over a {@link ModelRegistry}.
 * Answers truthfully about readiness; maps refusals to gRPC status (INVALID_ARGUMENT, NOT_FOUND,
 * UNAVAILABLE, FAILED_PRECONDITION); streams decoupled models with Triton's {@code
 * triton_final_response} protocol.
 */
final class InferenceService extends GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase {

  static final String SERVER_NAME = "ferret-stream-inference-server";
  static final String FINAL_RESPONSE = "triton_final_response";
  static final String ENABLE_EMPTY_FINAL = "triton_enable_empty_final_response";
  static final List<String> EXTENSIONS =
      List.of(
          "model_configuration",
          "model_repository",
          "statistics",
          "parameters",
          SharedMemory.EXTENSION);

  private static final Logger log = LoggerFactory.getLogger(InferenceService.class);

  private final ModelRegistry registry;
  private final SharedMemoryRegions regions;
  private final String version;

  /** Requests run on each model's {@link ModelScheduler}; no RPC thread waits for a model. */
  InferenceService(ModelRegistry registry, SharedMemoryRegions regions) {
    this.registry = registry;
    this.regions = regions;
    String v = InferenceService.class.getPackage().getImplementationVersion();
    this.version = v == null ? "dev" : v;
  }

  @Override
  public void serverLive(ServerLiveRequest request, StreamObserver<ServerLiveResponse> out) {
    unary(out, () -> ServerLiveResponse.newBuilder().setLive(true).build());
  }

  @Override
  public void serverReady(ServerReadyRequest request, StreamObserver<ServerReadyResponse> out) {
    unary(out, () -> ServerReadyResponse.newBuilder().setReady(registry.serverReady()).build());
  }

  @Override
  public void modelReady(ModelReadyRequest request, StreamObserver<ModelReadyResponse> out) {
    unary(
        out,
        () ->
            ModelReadyResponse.newBuilder()
                .setReady(registry.modelReady(request.getName(), request.getVersion()))
                .build());
  }

  @Override
  public void serverMetadata(
      ServerMetadataRequest request, StreamObserver<ServerMetadataResponse> out) {
    unary(
        out,
        () ->
            ServerMetadataResponse.newBuilder()
                .setName(SERVER_NAME)
                .setVersion(version)
                .addAllExtensions(EXTENSIONS)
                .build());
  }

  @Override
  public void modelMetadata(
      ModelMetadataRequest request, StreamObserver<ModelMetadataResponse> out) {
    unary(
        out,
        () -> {
          Slot slot = registry.ready(request.getName(), request.getVersion());
          return metadata(slot, registry.versions(slot.name));
        });
  }

  static ModelMetadataResponse metadata(Slot slot, List<String> versions) {
    ModelMetadataResponse.Builder b =
        ModelMetadataResponse.newBuilder()
            .setName(slot.name)
            .addAllVersions(versions)
            .setPlatform(ModelConfigs.platform(slot.config));
    for (ModelInput in : slot.config.getInputList()) {
      b.addInputs(
          tensorMetadata(
              in.getName(),
              DataTypes.protocol(in.getDataType()),
              ModelConfigs.fullShape(slot.config, in.getDimsList())));
    }
    for (ModelOutput o : slot.config.getOutputList()) {
      b.addOutputs(
          tensorMetadata(
              o.getName(),
              DataTypes.protocol(o.getDataType()),
              ModelConfigs.fullShape(slot.config, o.getDimsList())));
    }
    return b.build();
  }

  private static TensorMetadata tensorMetadata(String name, String datatype, long[] shape) {
    TensorMetadata.Builder t = TensorMetadata.newBuilder().setName(name).setDatatype(datatype);
    for (long d : shape) {
      t.addShape(d);
    }
    return t.build();
  }

  @Override
  public void modelConfig(ModelConfigRequest request, StreamObserver<ModelConfigResponse> out) {
    unary(
        out,
        () ->
            ModelConfigResponse.newBuilder()
                .setConfig(registry.existing(request.getName(), request.getVersion()).config)
                .build());
  }

  @Override
  public void modelStatistics(
      ModelStatisticsRequest request, StreamObserver<ModelStatisticsResponse> out) {
    unary(
        out,
        () -> {
          ModelStatisticsResponse.Builder b = ModelStatisticsResponse.newBuilder();
          if (request.getName().isEmpty()) {
            for (Slot s : registry.allSlots()) {
              if (!s.version.isEmpty()) {
                b.addModelStats(s.stats.proto(s.name, s.version));
              }
            }
          } else if (request.getVersion().isEmpty()) {
            registry.existing(request.getName(), "");
            for (Slot s : registry.slotsOf(request.getName())) {
              if (!s.version.isEmpty()) {
                b.addModelStats(s.stats.proto(s.name, s.version));
              }
            }
          } else {
            Slot s = registry.existing(request.getName(), request.getVersion());
            b.addModelStats(s.stats.proto(s.name, s.version));
          }
          return b.build();
        });
  }

  @Override
  public void repositoryIndex(
      RepositoryIndexRequest request, StreamObserver<RepositoryIndexResponse> out) {
    unary(
        out,
        () -> {
          RepositoryIndexResponse.Builder b = RepositoryIndexResponse.newBuilder();
          for (Slot s : registry.allSlots()) {
            if (request.getReady() && s.state() != ModelRegistry.State.READY) {
              continue;
            }
            b.addModels(
                RepositoryIndexResponse.ModelIndex.newBuilder()
                    .setName(s.name)
                    .setVersion(s.version)
                    .setState(s.state().name())
                    .setReason(s.reason()));
          }
          return b.build();
        });
  }

  @Override
  public void systemSharedMemoryRegister(
      SystemSharedMemoryRegisterRequest request,
      StreamObserver<SystemSharedMemoryRegisterResponse> out) {
    unary(
        out,
        () -> {
          regions.register(
              request.getName(), request.getKey(), request.getOffset(), request.getByteSize());
          log.debug("registered shared-memory region {} ({})", request.getName(), request.getKey());
          return SystemSharedMemoryRegisterResponse.getDefaultInstance();
        });
  }

  @Override
  public void systemSharedMemoryUnregister(
      SystemSharedMemoryUnregisterRequest request,
      StreamObserver<SystemSharedMemoryUnregisterResponse> out) {
    unary(
        out,
        () -> {
          regions.unregister(request.getName());
          return SystemSharedMemoryUnregisterResponse.getDefaultInstance();
        });
  }

  @Override
  public void systemSharedMemoryStatus(
      SystemSharedMemoryStatusRequest request,
      StreamObserver<SystemSharedMemoryStatusResponse> out) {
    unary(
        out,
        () -> {
          SystemSharedMemoryStatusResponse.Builder b =
              SystemSharedMemoryStatusResponse.newBuilder();
          for (SharedMemoryRegions.Region r : regions.status(request.getName())) {
            b.putRegions(r.name(), r.status());
          }
          return b.build();
        });
  }

  @Override
  public void modelInfer(ModelInferRequest request, StreamObserver<ModelInferResponse> out) {
    long arrival = System.nanoTime();
    Context context = Context.current();
    if (out instanceof ServerCallStreamObserver<ModelInferResponse> call) {
      call.setOnCancelHandler(() -> {}); // a late response to a gone client is dropped, not thrown
    }
    Slot slot;
    try {
      slot = registry.ready(request.getModelName(), request.getModelVersion());
      if (slot.decoupled()) {
        throw new InferenceException(
            Status.Code.FAILED_PRECONDITION,
            "model '"
                + slot.name
                + "' is decoupled (it streams 0..N responses per request): call"
                + " ModelStreamInfer; ModelInfer does not support decoupled models");
      }
    } catch (RuntimeException e) {
      respondError(out, e);
      return;
    }
    AtomicReference<ModelInferResponse> response = new AtomicReference<>();
    AtomicReference<InferenceException> unsent = new AtomicReference<>();
    try {
      Map<String, SharedMemoryRegions.Placement> placements =
          RequestDecoder.outputPlacements(request, regions);
      submit(
          slot,
          request,
          regions,
          arrival,
          context,
          new ResponseSink() {
            @Override
            public void send(List<Tensor> outputs, boolean last) {
              try {
                response.set(encode(slot, request.getId(), outputs, null, placements));
              } catch (InferenceException e) {
                unsent.set(e); // this request's own region is too small: fail it alone
              }
            }

            @Override
            public boolean cancelled() {
              return context.isCancelled();
            }
          },
          failure -> {
            if (failure != null) {
              respondError(out, failure);
            } else if (unsent.get() != null) {
              respondError(out, unsent.get());
            } else if (response.get() == null) {
              respondError(
                  out,
                  new InferenceException(
                      Status.Code.INTERNAL, "model '" + slot.name + "' produced no response"));
            } else {
              try {
                out.onNext(response.get());
                out.onCompleted();
              } catch (RuntimeException e) {
                log.debug("call closed before its response was sent", e);
              }
            }
          });
    } catch (RuntimeException e) {
      respondError(out, e);
    }
  }

  private static void respondError(StreamObserver<?> out, RuntimeException e) {
    StatusRuntimeException status;
    if (e instanceof InferenceException ie) {
      status = ie.toStatus();
    } else {
      log.error("request failed unexpectedly", e);
      status =
          Status.INTERNAL.withDescription("internal error: " + e).withCause(e).asRuntimeException();
    }
    try {
      out.onError(status);
    } catch (RuntimeException closed) {
      log.debug("call closed before its error was sent", closed);
    }
  }

  @Override
  public StreamObserver<ModelInferRequest> modelStreamInfer(
      StreamObserver<ModelStreamInferResponse> out) {
    return new StreamCall((ServerCallStreamObserver<ModelStreamInferResponse>) out);
  }

  /**
   * Decodes a request and queues it on the model's scheduler; {@code done} is called once it has
   * run, failed, or been cancelled while queued (cancellation of {@code context} removes it from
   * the queue).
   *
   * @throws InferenceException when the request is invalid or the queue refuses it (recorded as a
   *     failure; {@code done} is not called)
   */
  private static void submit(
      Slot slot,
      ModelInferRequest request,
      SharedMemoryRegions regions,
      long arrivalNs,
      Context context,
      ResponseSink sink,
      ModelScheduler.Completion done) {
    InferInputs inputs;
    List<String> outputs;
    try {
      inputs = RequestDecoder.decode(request, slot.config, regions);
      outputs = RequestDecoder.requestedOutputs(request, slot.config);
    } catch (RuntimeException e) {
      slot.stats.failure(System.nanoTime() - arrivalNs);
      throw e;
    }
    ModelScheduler scheduler = slot.scheduler();
    AtomicReference<ModelScheduler.Request> queued = new AtomicReference<>();
    Context.CancellationListener listener =
        c -> scheduler.cancel(queued.get(), cancelledWhileQueued(c, slot));
    queued.set(
        new ModelScheduler.Request(
            inputs,
            outputs,
            arrivalNs,
            System.nanoTime() - arrivalNs,
            sink,
            failure -> {
              context.removeListener(listener);
              done.completed(failure);
            }));
    // listen first: a context cancelled already removes the request before it is queued
    context.addListener(listener, Runnable::run);
    try {
      scheduler.submit(queued.get());
    } catch (RuntimeException e) {
      context.removeListener(listener);
      throw e;
    }
  }

  private static InferenceException cancelledWhileQueued(Context context, Slot slot) {
    Status status = Contexts.statusFromCancelled(context);
    Status.Code code = status == null ? Status.Code.CANCELLED : status.getCode();
    return new InferenceException(
        code,
        (code == Status.Code.DEADLINE_EXCEEDED
                ? "the deadline passed while the request was queued for "
                : "the request was cancelled while queued for ")
            + slot.describe()
            + "; it was not run");
  }

  static ModelInferResponse encode(Slot slot, String id, List<Tensor> outputs, Boolean last) {
    return encode(slot, id, outputs, last, Map.of());
  }

  /**
   * The response for {@code outputs}; an output with a placement is written into its shared-memory
   * region and described by its parameters, with an empty {@code raw_output_contents} entry so that
   * entries stay aligned with {@code outputs} (as Triton does).
   *
   * @throws InferenceException INVALID_ARGUMENT when an output does not fit its region
   */
  static ModelInferResponse encode(
      Slot slot,
      String id,
      List<Tensor> outputs,
      Boolean last,
      Map<String, SharedMemoryRegions.Placement> placements) {
    ModelInferResponse.Builder b =
        ModelInferResponse.newBuilder()
            .setModelName(slot.name)
            .setModelVersion(slot.version)
            .setId(id);
    if (last != null) {
      b.putParameters(FINAL_RESPONSE, InferParameter.newBuilder().setBoolParam(last).build());
    }
    for (Tensor t : outputs) {
      InferOutputTensor.Builder o =
          InferOutputTensor.newBuilder().setName(t.name()).setDatatype(t.datatype());
      for (long d : t.shape()) {
        o.addShape(d);
      }
      SharedMemoryRegions.Placement at = placements.get(t.name());
      if (at == null) {
        b.addOutputs(o);
        b.addRawOutputContents(t.data());
        continue;
      }
      try {
        o.putAllParameters(at.write(t.name(), t.data()));
      } catch (StatusRuntimeException e) {
        throw InferenceException.of(e);
      }
      b.addOutputs(o);
      b.addRawOutputContents(ByteString.EMPTY);
    }
    return b.build();
  }

  private static <T> void unary(StreamObserver<T> out, Supplier<T> body) {
    T response;
    try {
      response = body.get();
    } catch (InferenceException e) {
      out.onError(e.toStatus());
      return;
    } catch (StatusRuntimeException e) {
      out.onError(e); // a refusal with its status, e.g. from SharedMemoryRegions
      return;
    } catch (RuntimeException e) {
      log.error("request failed unexpectedly", e);
      out.onError(
          Status.INTERNAL
              .withDescription("internal error: " + e)
              .withCause(e)
              .asRuntimeException());
      return;
    }
    out.onNext(response);
    out.onCompleted();
  }

  /**
   * One {@code ModelStreamInfer} call. Each request is queued on its model's scheduler (requests on
   * one stream run concurrently up to the models' instance counts, as in Triton; correlate
   * responses by id). Errors become {@code error_message} responses and the stream stays open.
   * Cancellation stops generation between pieces; half-close lets in-flight requests finish, then
   * completes the stream.
   */
  private final class StreamCall implements StreamObserver<ModelInferRequest> {

    private final ServerCallStreamObserver<ModelStreamInferResponse> out;
    private final Context context = Context.current();
    private final AtomicBoolean cancelled = new AtomicBoolean();
    private final Object lock = new Object();
    private int inFlight;
    private boolean halfClosed;
    private boolean done;

    StreamCall(ServerCallStreamObserver<ModelStreamInferResponse> out) {
      this.out = out;
      out.setOnCancelHandler(() -> cancelled.set(true));
    }

    @Override
    public void onNext(ModelInferRequest request) {
      long arrival = System.nanoTime();
      synchronized (lock) {
        inFlight++;
      }
      try {
        Slot slot = registry.ready(request.getModelName(), request.getModelVersion());
        boolean emptyFinal = emptyFinalRequested(request);
        boolean decoupled = slot.decoupled();
        AtomicBoolean finalSent = new AtomicBoolean();
        Map<String, SharedMemoryRegions.Placement> placements =
            RequestDecoder.outputPlacements(request, regions);
        submit(
            slot,
            request,
            regions,
            arrival,
            context,
            new ResponseSink() {
              @Override
              public void send(List<Tensor> outputs, boolean last) {
                if (finalSent.get()) {
                  return; // failed already: its error was the final response
                }
                boolean isFinal = !decoupled || (last && !emptyFinal);
                ModelInferResponse response;
                try {
                  response = encode(slot, request.getId(), outputs, isFinal, placements);
                } catch (InferenceException e) {
                  finalSent.set(true);
                  error(request, e.getMessage());
                  return;
                }
                write(response);
                if (isFinal) {
                  finalSent.set(true);
                }
              }

              @Override
              public boolean cancelled() {
                return isCancelled();
              }
            },
            failure -> {
              try {
                if (failure != null) {
                  error(request, failure.getMessage());
                } else if (!finalSent.get() && !isCancelled()) {
                  // the explicit end of a decoupled request: requested, or never marked
                  write(encode(slot, request.getId(), List.of(), true));
                }
              } finally {
                finished();
              }
            });
      } catch (InferenceException e) {
        error(request, e.getMessage());
        finished();
      } catch (RuntimeException e) {
        log.error("stream request {} failed unexpectedly", request.getId(), e);
        error(request, "internal error: " + e);
        finished();
      }
    }

    private boolean isCancelled() {
      return cancelled.get() || context.isCancelled();
    }

    private void error(ModelInferRequest request, String message) {
      write(
          ModelStreamInferResponse.newBuilder()
              .setErrorMessage(message)
              .setInferResponse(
                  ModelInferResponse.newBuilder()
                      .setId(request.getId())
                      .setModelName(request.getModelName())
                      .setModelVersion(request.getModelVersion()))
              .build());
    }

    private void write(ModelInferResponse response) {
      write(ModelStreamInferResponse.newBuilder().setInferResponse(response).build());
    }

    private void write(ModelStreamInferResponse response) {
      synchronized (lock) {
        if (done || isCancelled()) {
          return;
        }
        try {
          out.onNext(response);
        } catch (RuntimeException e) {
          // the call closed under us (client gone): stop generating for it
          log.debug("stream closed while sending a response", e);
          cancelled.set(true);
        }
      }
    }

    private void finished() {
      synchronized (lock) {
        inFlight--;
        maybeComplete();
      }
    }

    private void maybeComplete() {
      if (halfClosed && inFlight == 0 && !done) {
        done = true;
        if (!isCancelled()) {
          out.onCompleted();
        }
      }
    }

    @Override
    public void onError(Throwable t) {
      cancelled.set(true);
    }

    @Override
    public void onCompleted() {
      synchronized (lock) {
        halfClosed = true;
        maybeComplete();
      }
    }
  }

  static boolean emptyFinalRequested(ModelInferRequest request) {
    InferParameter p = request.getParametersMap().get(ENABLE_EMPTY_FINAL);
    if (p == null) {
      return false;
    }
    if (p.getParameterChoiceCase() != InferParameter.ParameterChoiceCase.BOOL_PARAM) {
      throw InferenceException.invalid(
          "parameter "
              + ENABLE_EMPTY_FINAL
              + " must be a bool_param, is "
              + p.getParameterChoiceCase());
    }
    return p.getBoolParam();
  }
}
