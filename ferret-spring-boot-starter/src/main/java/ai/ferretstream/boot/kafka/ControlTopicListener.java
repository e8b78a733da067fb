package ai.ferretstream.boot.kafka;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.springframework.core.annotation.AliasFor;
import org.springframework.kafka.annotation.KafkaListener;

/**
 * A {@code @KafkaListener} of {@code ferret.control} that every instance of a service runs for
 * itself, so that each instance sees every cancellation: a consumer group of this instance's own
 * ({@link ServiceInstance#controlGroup()}), from the latest offset, nothing committed, a record
 * that fails given up on at once ({@link FerretListeners#BROADCAST}).
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@Documented
@KafkaListener(
    idIsGroup = false,
    groupId = "#{@ferretServiceInstance.controlGroup()}",
    topics = "#{@topicCatalog.control()}",
    properties = "auto.offset.reset=latest",
    containerPostProcessor = FerretListeners.BROADCAST)
public @interface ControlTopicListener {

  /** The listener (container) id. */
  @AliasFor(annotation = KafkaListener.class, attribute = "id")
  String id();
}
