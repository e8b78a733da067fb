package ai.ferretstream.proto.contracts;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.proto.kafka.FerretHeaders;
import ai.ferretstream.proto.kafka.KafkaLimits;
import ai.ferretstream.proto.kafka.ReplyTargets;
import ai.ferretstream.proto.kafka.Topic;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.AskRequest;
import ai.ferretstream.proto.v1.Cancel;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.OneofDescriptor;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * {@code docs/asyncapi.yaml}, the AsyncAPI 3 description of the Kafka topics a user touches: valid
 * for the AsyncAPI parser with the protobuf schema parser (node, {@code
 * proto/src/test/contracts/validate-asyncapi.mjs}), and true to the code: its protobuf payloads are
 * {@code ferret.proto}'s definitions word for word, its topic names, value types, header names and
 * record limit those of {@link TopicCatalog}, {@link Topic}, {@link FerretHeaders} and {@link
 * KafkaLimits}.
 */
class AsyncApiDocumentTest {

  private static final String PROTOBUF = "application/vnd.google.protobuf;version=3";

  /** The protobuf payloads of the document: each {@code components.schemas} entry's message. */
  private static final List<Descriptor> PAYLOADS =
      List.of(AskRequest.getDescriptor(), AnswerEvent.getDescriptor(), Cancel.getDescriptor());

  /** Channel of the document -> the topic it describes, and whether it is the dead-letter topic. */
  private static final Map<String, Object[]> CHANNELS = new LinkedHashMap<>();

  static {
    CHANNELS.put("requests", new Object[] {Topic.REQUESTS, false});
    CHANNELS.put("answers", new Object[] {Topic.ANSWERS, false});
    CHANNELS.put("control", new Object[] {Topic.CONTROL, false});
    CHANNELS.put("requestsDeadLetters", new Object[] {Topic.REQUESTS, true});
    CHANNELS.put("answersDeadLetters", new Object[] {Topic.ANSWERS, true});
    CHANNELS.put("controlDeadLetters", new Object[] {Topic.CONTROL, true});
  }

  private static Path repo;
  private static Path document;
  private static Map<String, Object> asyncApi;

  @TempDir Path tmp;

  @BeforeAll
  static void locateDocumentAndValidator() throws IOException {
    repo = ContractTools.repo();
    document = repo.resolve("docs/asyncapi.yaml");
    asyncApi = yaml(Files.readString(document, StandardCharsets.UTF_8));
    ContractTools.requireNodeAndModules(
        List.of("@asyncapi/parser", "@asyncapi/protobuf-schema-parser"));
  }

  // ------------------------------------------------------------------------------------------
  // the parser
  // ------------------------------------------------------------------------------------------

  @Test
  void theAsyncApiParserAcceptsTheDocumentAndConvertsEveryProtobufPayload() throws IOException {
    ContractTools.Result result = validate(document);
    assertThat(result.exitCode())
        .as("validate-asyncapi.mjs docs/asyncapi.yaml (%s):\n%s", ContractTools.NPM_HINT, result)
        .isZero();
    Map<String, Object> report = yaml(result.stdout());
    assertThat(report.get("errors")).isEqualTo(0);
    Map<String, Object> schemas = map(report, "schemas");
    assertThat(schemas.keySet())
        .as("protobuf schemas the parser converted")
        .containsExactlyInAnyOrderElementsOf(names(PAYLOADS));
    for (Descriptor message : PAYLOADS) {
      Map<String, Object> converted = map(schemas, message.getName());
      assertThat(converted.get("title")).as(message.getName()).isEqualTo(message.getName());
      assertThat(list(converted, "properties"))
          .as("properties of the converted %s", message.getName())
          .containsExactlyInAnyOrderElementsOf(topLevelProperties(message));
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          a protobuf payload that does not parse      | payloadSyntaxError | illegal
          a payload of a schema format nobody parses  | unknownFormat      | no schema parser took
          a document without info                     | noInfo             | info
          an operation on a channel that is not there | danglingChannel    | channels/nowhere
          """)
  void theParserRefusesAnInvalidDocument(String what, String fixture, String diagnostic)
      throws IOException {
    Path file = tmp.resolve(fixture + ".yaml");
    Files.writeString(file, INVALID.get(fixture), StandardCharsets.UTF_8);
    ContractTools.Result result = validate(file);
    assertThat(result.exitCode()).as("%s:\n%s", what, result).isEqualTo(1);
    assertThat(result.stderr().lines())
        .as("error diagnostics of %s", what)
        .anyMatch(line -> line.startsWith("error ") && line.contains(diagnostic));
  }

  // ------------------------------------------------------------------------------------------
  // true to the code
  // ------------------------------------------------------------------------------------------

  @Test
  void everyProtobufPayloadIsFerretProtosDefinitionsWordForWord() throws IOException {
    String proto =
        Files.readString(
            repo.resolve("proto/src/main/proto/ferret/v1/ferret.proto"), StandardCharsets.UTF_8);
    Map<String, Object> schemas = map(map(asyncApi, "components"), "schemas");
    List<String> protobufSchemas = new ArrayList<>();
    schemas.forEach(
        (name, schema) -> {
          if (schema instanceof Map<?, ?> m && m.containsKey("schemaFormat")) {
            assertThat(m.get("schemaFormat")).as("schemaFormat of %s", name).isEqualTo(PROTOBUF);
            protobufSchemas.add(name);
          }
        });
    assertThat(protobufSchemas).containsExactlyInAnyOrderElementsOf(names(PAYLOADS));
    for (Descriptor message : PAYLOADS) {
      String expected = excerpt(proto, message);
      assertThat(map(schemas, message.getName()).get("schema"))
          .as(
              "components.schemas.%s.schema of docs/asyncapi.yaml must be ferret.proto's %s with"
                  + " the definitions it uses, as in the file; replace it with:\n%s",
              message.getName(), message.getName(), expected)
          .isEqualTo(expected);
    }
  }

  @Test
  void channelsAreTheCatalogsTopicsWithTheirValueTypes() {
    Map<String, Object> channels = map(asyncApi, "channels");
    assertThat(channels.keySet()).containsExactlyInAnyOrderElementsOf(CHANNELS.keySet());
    TopicCatalog catalog = TopicCatalog.defaults();
    Map<String, Object> messages = map(map(asyncApi, "components"), "messages");
    CHANNELS.forEach(
        (id, described) -> {
          Topic topic = (Topic) described[0];
          boolean deadLetter = (Boolean) described[1];
          Map<String, Object> channel = map(channels, id);
          assertThat(channel.get("address"))
              .as("address of channel %s", id)
              .isEqualTo(deadLetter ? catalog.deadLetter(topic) : catalog.name(topic));
          Map<String, Object> kafka = map(map(channel, "bindings"), "kafka");
          assertThat(map(kafka, "topicConfiguration").get("max.message.bytes"))
              .as("max.message.bytes of %s", id)
              .isEqualTo(KafkaLimits.MAX_RECORD_BYTES);
          Map<String, Object> channelMessages = map(channel, "messages");
          assertThat(channelMessages).as("messages of %s", id).hasSize(1);
          String message =
              ref(channelMessages.values().iterator().next(), "#/components/messages/");
          Map<String, Object> payload = map(map(messages, message), "payload");
          assertThat(ref(payload, "#/components/schemas/"))
              .as("payload of %s's message %s", id, message)
              .isEqualTo(topic.valueType().getSimpleName());
        });
  }

  @Test
  void headersAreTheHeaderVocabularysAndValueTypesTheProtobufNames() throws IllegalAccessException {
    Set<String> vocabulary = new LinkedHashSet<>();
    for (Field f : FerretHeaders.class.getFields()) {
      if (Modifier.isStatic(f.getModifiers()) && f.getType() == String.class) {
        vocabulary.add((String) f.get(null));
      }
    }
    Map<String, Object> schemas = map(map(asyncApi, "components"), "schemas");
    Map<String, Set<String>> headers = new LinkedHashMap<>();
    for (String name : List.of("RequestHeaders", "AnswerHeaders", "ControlHeaders")) {
      headers.put(name, map(map(schemas, name), "properties").keySet());
    }
    Set<String> deadLetter = map(map(schemas, "DeadLetterHeaders"), "properties").keySet();
    headers.forEach(
        (name, names) ->
            assertThat(vocabulary)
                .as("FerretHeaders has the headers of %s", name)
                .containsAll(names));
    assertThat(headers.get("RequestHeaders"))
        .as("what FerretHeaders.stamp sets on a request")
        .containsExactlyInAnyOrder(
            FerretHeaders.REQUEST_ID,
            FerretHeaders.VALUE_TYPE,
            FerretHeaders.PRODUCER,
            FerretHeaders.DEADLINE,
            FerretHeaders.REPLY_PARTITION);
    assertThat(headers.get("AnswerHeaders"))
        .as("what AnswerEvents.record sets")
        .containsExactlyInAnyOrder(
            FerretHeaders.REQUEST_ID, FerretHeaders.VALUE_TYPE, FerretHeaders.REPLY_PARTITION);
    assertThat(deadLetter)
        .contains(
            FerretHeaders.ERROR_SERVICE, FerretHeaders.ERROR_CLASS, FerretHeaders.ERROR_REASON);
    assertThat(deadLetter.stream().filter(h -> h.startsWith("ferret-")))
        .allMatch(vocabulary::contains);
    Map<String, Descriptor> valueTypes =
        Map.of(
            "RequestHeaders", AskRequest.getDescriptor(),
            "AnswerHeaders", AnswerEvent.getDescriptor(),
            "ControlHeaders", Cancel.getDescriptor());
    valueTypes.forEach(
        (name, type) ->
            assertThat(
                    map(map(map(schemas, name), "properties"), FerretHeaders.VALUE_TYPE)
                        .get("const"))
                .as("%s of %s", FerretHeaders.VALUE_TYPE, name)
                .isEqualTo(type.getFullName()));
  }

  @Test
  void theReplyToRuleAndItsErrorCodeAreDescribed() throws IOException {
    String text = Files.readString(document, StandardCharsets.UTF_8);
    assertThat(text)
        .contains(ReplyTargets.INVALID_REPLY_TO)
        .contains("`" + ReplyTargets.BY_KEY + "` (partition by key)");
  }

  // ------------------------------------------------------------------------------------------
  // the excerpt of ferret.proto a payload must be
  // ------------------------------------------------------------------------------------------

  private static final Pattern DEFINITION = Pattern.compile("^(message|enum) (\\w+) \\{");

  /**
   * {@code root} as the protobuf schema parser needs it, one message per payload: the file's syntax
   * and package, then the top-level definitions {@code root} uses (itself included), each with the
   * comment lines right above it, in file order, exactly as they are written in {@code proto}. The
   * parser takes the one message no other uses as the payload: {@code root}.
   */
  static String excerpt(String proto, Descriptor root) {
    Map<String, String> definitions = topLevelDefinitions(proto);
    Set<String> used = new LinkedHashSet<>();
    collect(root, root, used);
    assertThat(definitions.keySet())
        .as("top-level definitions found in ferret.proto")
        .containsAll(used);
    return "syntax = \"proto3\";\n\npackage "
        + root.getFile().getPackage()
        + ";\n\n"
        + definitions.entrySet().stream()
            .filter(e -> used.contains(e.getKey()))
            .map(Map.Entry::getValue)
            .collect(Collectors.joining("\n\n"))
        + "\n";
  }

  /** Name -> text (comment lines above it included) of each top-level message and enum. */
  private static Map<String, String> topLevelDefinitions(String proto) {
    String[] lines = proto.split("\n", -1);
    Map<String, String> definitions = new LinkedHashMap<>();
    for (int i = 0; i < lines.length; i++) {
      Matcher m = DEFINITION.matcher(lines[i]);
      if (!m.find()) {
        continue;
      }
      int start = i;
      while (start > 0 && lines[start - 1].startsWith("//")) {
        start--;
      }
      int depth = 0;
      int end = i;
      for (; end < lines.length; end++) {
        String code = lines[end].split("//", 2)[0];
        depth += count(code, '{') - count(code, '}');
        if (depth == 0) {
          break;
        }
      }
      assertThat(end).as("end of %s in ferret.proto", m.group(2)).isLessThan(lines.length);
      definitions.put(
          m.group(2), String.join("\n", java.util.Arrays.copyOfRange(lines, start, end + 1)));
      i = end;
    }
    return definitions;
  }

  /** Adds the top-level names of {@code message} and of every type its fields use. */
  private static void collect(Descriptor message, Descriptor root, Set<String> used) {
    if (message.getOptions().getMapEntry()) {
      for (FieldDescriptor f : message.getFields()) {
        collectField(f, root, used);
      }
      return;
    }
    if (!used.add(topLevel(message, root))) {
      return;
    }
    for (FieldDescriptor f : message.getFields()) {
      collectField(f, root, used);
    }
    for (Descriptor nested : message.getNestedTypes()) {
      collect(nested, root, used);
    }
  }

  private static void collectField(FieldDescriptor f, Descriptor root, Set<String> used) {
    if (f.getType() == FieldDescriptor.Type.MESSAGE) {
      collect(f.getMessageType(), root, used);
    } else if (f.getType() == FieldDescriptor.Type.ENUM) {
      EnumDescriptor e = f.getEnumType();
      assertThat(e.getFile())
          .as("%s uses %s of another file: the excerpt cannot import it", root, e.getFullName())
          .isEqualTo(root.getFile());
      used.add(e.getContainingType() == null ? e.getName() : topLevel(e.getContainingType(), root));
    }
  }

  private static String topLevel(Descriptor type, Descriptor root) {
    assertThat(type.getFile())
        .as("%s uses %s of another file: the excerpt cannot import it", root, type.getFullName())
        .isEqualTo(root.getFile());
    Descriptor top = type;
    while (top.getContainingType() != null) {
      top = top.getContainingType();
    }
    return top.getName();
  }

  /** The properties the protobuf schema parser makes of a message: fields, and oneofs by name. */
  private static List<String> topLevelProperties(Descriptor message) {
    Set<String> names = new LinkedHashSet<>();
    for (FieldDescriptor f : message.getFields()) {
      OneofDescriptor oneof = f.getRealContainingOneof();
      names.add(oneof == null ? f.getName() : oneof.getName());
    }
    return new ArrayList<>(names);
  }

  // ------------------------------------------------------------------------------------------
  // helpers
  // ------------------------------------------------------------------------------------------

  private static ContractTools.Result validate(Path file) throws IOException {
    return ContractTools.run(
        List.of(
            "node",
            ContractTools.contracts().resolve("validate-asyncapi.mjs").toString(),
            file.toString()),
        ContractTools.contracts(),
        Map.of());
  }

  private static final Map<String, String> INVALID =
      Map.of(
          "payloadSyntaxError",
          """
          asyncapi: 3.0.0
          info:
            title: broken
            version: 1.0.0
          components:
            schemas:
              Broken:
                schemaFormat: application/vnd.google.protobuf;version=3
                schema: |
                  syntax = "proto3";
                  message Broken { int32 x = ; }
          """,
          "unknownFormat",
          """
          asyncapi: 3.0.0
          info:
            title: broken
            version: 1.0.0
          components:
            schemas:
              Broken:
                schemaFormat: application/vnd.example.nobody-parses-this;version=1
                schema: |
                  whatever
          """,
          "noInfo",
          """
          asyncapi: 3.0.0
          channels:
            requests:
              address: ferret.requests
          """,
          "danglingChannel",
          """
          asyncapi: 3.0.0
          info:
            title: broken
            version: 1.0.0
          operations:
            ask:
              action: send
              channel:
                $ref: '#/channels/nowhere'
          """);

  private static List<String> names(List<Descriptor> messages) {
    return messages.stream().map(Descriptor::getName).toList();
  }

  private static int count(String s, char c) {
    return (int) s.chars().filter(x -> x == c).count();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> yaml(String text) {
    Object loaded = new Yaml(new SafeConstructor(new LoaderOptions())).load(text);
    assertThat(loaded).as("a YAML/JSON object").isInstanceOf(Map.class);
    return (Map<String, Object>) loaded;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Map<String, Object> parent, String key) {
    Object value = parent.get(key);
    assertThat(value).as("%s is an object", key).isInstanceOf(Map.class);
    return (Map<String, Object>) value;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Map<String, Object> parent, String key) {
    Object value = parent.get(key);
    assertThat(value).as("%s is a list", key).isInstanceOf(List.class);
    return (List<Object>) value;
  }

  /** The name a {@code $ref} with {@code prefix} points at. */
  @SuppressWarnings("unchecked")
  private static String ref(Object node, String prefix) {
    assertThat(node).isInstanceOf(Map.class);
    Object ref = ((Map<String, Object>) node).get("$ref");
    assertThat(ref).as("$ref").isInstanceOf(String.class);
    assertThat((String) ref).startsWith(prefix);
    return ((String) ref).substring(prefix.length());
  }
}
