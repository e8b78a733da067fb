package ai.ferretstream.inferenceserver;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits an answer into the pieces the dev LLM streams, one per response: a word (letters and
 * digits) with its leading whitespace, or one punctuation/bracket character with its leading
 * whitespace. Joining the pieces gives the answer back exactly.
 */
final class AnswerPieces {

  private AnswerPieces() {}

  static List<String> split(String text) {
    List<String> pieces = new ArrayList<>();
    int n = text.length();
    int i = 0;
    while (i < n) {
      int start = i;
      while (i < n && Character.isWhitespace(text.charAt(i))) {
        i++;
      }
      if (i == n) {
        // trailing whitespace: keep it with the previous piece so nothing is lost
        if (pieces.isEmpty()) {
          pieces.add(text.substring(start));
        } else {
          int last = pieces.size() - 1;
          pieces.set(last, pieces.get(last) + text.substring(start));
        }
        break;
      }
      if (Character.isLetterOrDigit(text.codePointAt(i))) {
        while (i < n && Character.isLetterOrDigit(text.codePointAt(i))) {
          i += Character.charCount(text.codePointAt(i));
        }
      } else {
        i += Character.charCount(text.codePointAt(i));
      }
      pieces.add(text.substring(start, i));
    }
    return pieces;
  }
}
