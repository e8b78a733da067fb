package ai.ferretstream.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import jakarta.servlet.RequestDispatcher;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.springframework.http.converter.HttpMessageNotWritableException;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;
import tools.jackson.databind.json.JsonMapper;

class ApiErrorHandlerTest {

  private final ApiErrorHandler handler =
      new ApiErrorHandler(JsonMapper.shared(), new SimpleMeterRegistry());
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private final Logger logger = (Logger) LoggerFactory.getLogger(ApiErrorHandler.class);

  @BeforeEach
  void capture() {
    logs.start();
    logger.addAppender(logs);
  }

  @AfterEach
  void release() {
    logger.detachAppender(logs);
  }

  /**
   * A client that leaves mid-stream makes Tomcat render its error page on the streamed response,
   * which Spring cannot write as {@code text/event-stream}: not a failure of the gateway.
   */
  @Test
  void theErrorPageOfAStreamThatBrokeOffIsNotAnError() {
    MockHttpServletRequest request = new MockHttpServletRequest("POST", "/error");
    request.setAttribute(RequestDispatcher.ERROR_STATUS_CODE, 500);
    MockHttpServletResponse response = new MockHttpServletResponse();
    response.setContentType("text/event-stream");

    assertThat(
            handler.other(
                new HttpMessageNotWritableException("No converter for [class LinkedHashMap]"),
                request,
                response))
        .isNull();
    assertThat(logs.list).noneMatch(e -> e.getLevel() == Level.ERROR);
  }

  @Test
  void aFailureOfTheGatewayItselfIsStillAnErrorWithA500() {
    MockHttpServletRequest request = new MockHttpServletRequest("POST", "/v1/chat/completions");
    MockHttpServletResponse response = new MockHttpServletResponse();

    assertThat(
            handler
                .other(new IllegalStateException("bug"), request, response)
                .getStatusCode()
                .value())
        .isEqualTo(500);
    assertThat(logs.list).anyMatch(e -> e.getLevel() == Level.ERROR);
  }
}
