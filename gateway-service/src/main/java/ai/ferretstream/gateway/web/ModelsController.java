package ai.ferretstream.gateway.web;

import ai.ferretstream.gateway.config.GatewayProperties;
import java.time.Clock;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/** {@code GET /v1/models}: the one model this deployment serves. */
@RestController
class ModelsController {

  private final JsonMapper json;
  private final String modelName;
  private final long created;

  ModelsController(JsonMapper json, GatewayProperties properties, Clock clock) {
    this.json = json;
    this.modelName = properties.modelName();
    this.created = clock.millis() / 1000;
  }

  @GetMapping(value = "/v1/models", produces = "application/json")
  String models() {
    ObjectNode root = json.createObjectNode();
    root.put("object", "list");
    ObjectNode model = root.putArray("data").addObject();
    model.put("id", modelName);
    model.put("object", "model");
    model.put("created", created);
    model.put("owned_by", "ferret-stream");
    return json.writeValueAsString(root);
  }
}
