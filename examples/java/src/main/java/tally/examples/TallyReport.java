package tally.examples;

import com.google.analytics.data.v1beta.BetaAnalyticsDataClient;
import com.google.analytics.data.v1beta.BetaAnalyticsDataSettings;
import com.google.analytics.data.v1beta.DateRange;
import com.google.analytics.data.v1beta.Dimension;
import com.google.analytics.data.v1beta.DimensionValue;
import com.google.analytics.data.v1beta.Metric;
import com.google.analytics.data.v1beta.MetricValue;
import com.google.analytics.data.v1beta.OrderBy;
import com.google.analytics.data.v1beta.Row;
import com.google.analytics.data.v1beta.RunReportRequest;
import com.google.analytics.data.v1beta.RunReportResponse;
import com.google.api.gax.core.FixedCredentialsProvider;
import com.google.auth.oauth2.AccessToken;
import com.google.auth.oauth2.GoogleCredentials;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs a GA4 report against Tally with Google's own Java client (HTTP/JSON transport) and prints
 * it, one tab-separated line per row after a header. Only the endpoint and the credentials differ
 * from a report against Google: the read key goes where an OAuth access token would.
 *
 * <pre>
 * mvn -q compile exec:java -Dexec.args="--endpoint http://127.0.0.1:8080 --property 123 --read-key tk_read_... \
 *     --dimension date --metric activeUsers --metric sessions"
 * </pre>
 */
public final class TallyReport {
  public static void main(String[] args) throws Exception {
    String endpoint = env("TALLY_URL", "http://127.0.0.1:8080");
    String property = null;
    String readKey = System.getenv("TALLY_READ_KEY");
    String start = "28daysAgo";
    String end = "today";
    List<String> dimensions = new ArrayList<>();
    List<String> metrics = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--endpoint" -> endpoint = args[++i];
        case "--property" -> property = args[++i];
        case "--read-key" -> readKey = args[++i];
        case "--dimension" -> dimensions.add(args[++i]);
        case "--metric" -> metrics.add(args[++i]);
        case "--start" -> start = args[++i];
        case "--end" -> end = args[++i];
        case "--help", "-h" -> {
          System.out.println(
              "usage: TallyReport --property ID --read-key KEY [--endpoint URL] [--dimension D]... [--metric M]... [--start D] [--end D]");
          return;
        }
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    if (property == null || readKey == null) throw new IllegalArgumentException("--property and --read-key (or TALLY_READ_KEY) are required");
    if (metrics.isEmpty()) metrics.add("activeUsers");

    BetaAnalyticsDataSettings settings =
        BetaAnalyticsDataSettings.newHttpJsonBuilder()
            // a scheme in the endpoint is kept: http:// for a Tally on this machine
            .setEndpoint(endpoint)
            .setCredentialsProvider(FixedCredentialsProvider.create(GoogleCredentials.create(new AccessToken(readKey, null))))
            .build();
    try (BetaAnalyticsDataClient client = BetaAnalyticsDataClient.create(settings)) {
      RunReportRequest.Builder request =
          RunReportRequest.newBuilder()
              .setProperty("properties/" + property)
              .addDateRanges(DateRange.newBuilder().setStartDate(start).setEndDate(end))
              .setLimit(100000);
      for (String d : dimensions) request.addDimensions(Dimension.newBuilder().setName(d));
      for (String m : metrics) request.addMetrics(Metric.newBuilder().setName(m));
      if (!dimensions.isEmpty()) {
        request.addOrderBys(OrderBy.newBuilder().setDimension(OrderBy.DimensionOrderBy.newBuilder().setDimensionName(dimensions.get(0))));
      }
      RunReportResponse response = client.runReport(request.build());
      List<String> header = new ArrayList<>(dimensions);
      header.addAll(metrics);
      System.out.println(String.join("\t", header));
      for (Row row : response.getRowsList()) {
        List<String> cells = new ArrayList<>();
        for (DimensionValue v : row.getDimensionValuesList()) cells.add(v.getValue());
        for (MetricValue v : row.getMetricValuesList()) cells.add(v.getValue());
        System.out.println(String.join("\t", cells));
      }
    }
  }

  private static String env(String name, String fallback) {
    String v = System.getenv(name);
    return v == null || v.isEmpty() ? fallback : v;
  }
}
