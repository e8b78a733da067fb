package ai.ferretstream.encoder.inference;

import ai.ferretstream.boot.inference.ModelContract;
import ai.ferretstream.boot.task.StartupCheck;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Verifies the model contract at start-up, before the Kafka listener starts: a missing model or a
 * tensor of the wrong type or shape stops the service with a message naming the difference.
 */
public final class ModelStartupCheck extends StartupCheck {

  private static final Logger log = LoggerFactory.getLogger(ModelStartupCheck.class);

  private final TritonClient client;
  private final String target;
  private final Duration timeout;

  /**
   * @param client the adapter whose model to check
   * @param target the server address, for messages
   * @param timeout deadline of each check call
   */
  public ModelStartupCheck(TritonClient client, String target, Duration timeout) {
    super(MODELS_PHASE);
    this.client = client;
    this.target = target;
    this.timeout = timeout;
  }

  @Override
  public void verify() {
    ModelSpec model = client.model();
    var metadata = ModelContract.atStartup(model.name(), target, () -> client.verifyModel(timeout));
    log.info(
        "model {} on {} matches: inputs {}, outputs {}",
        model.name(),
        target,
        metadata.getInputsList(),
        metadata.getOutputsList());
  }
}
