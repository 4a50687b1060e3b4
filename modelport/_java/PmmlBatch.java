import java.io.File;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.dmg.pmml.DataType;
import org.jpmml.evaluator.Evaluator;
import org.jpmml.evaluator.EvaluatorUtil;
import org.jpmml.evaluator.InputField;
import org.jpmml.evaluator.LoadingModelEvaluatorBuilder;
import org.jpmml.evaluator.ModelEvaluator;

/**
 * Scores a whole batch inside the JVM, so Python crosses the bridge once per batch with primitive
 * arrays (full double precision, no CSV or string round trip).
 *
 * Used by modelport.runtimes.jpmml (through JPype) and by ScorePmml (the plain Java program), so
 * both paths evaluate rows exactly the same way a Java service does: one evaluate(Map) per row.
 */
public final class PmmlBatch {

    private final Evaluator evaluator;
    private final String[] inputNames;
    private final DataType[] inputTypes;

    public PmmlBatch(Evaluator evaluator, String[] inputNames) {
        this.evaluator = evaluator;
        this.inputNames = inputNames.clone();
        this.inputTypes = new DataType[inputNames.length];
        Map<String, DataType> types = new HashMap<>();
        for (InputField field : evaluator.getInputFields()) {
            types.put(field.getName(), field.getDataType());
        }
        for (int i = 0; i < inputNames.length; i++) {
            DataType type = types.get(inputNames[i]);
            if (type == null) {
                throw new IllegalArgumentException("PMML has no input field '" + inputNames[i] + "'; it has " + types.keySet());
            }
            this.inputTypes[i] = type;
        }
    }

    public static Evaluator load(String path) throws Exception {
        return new LoadingModelEvaluatorBuilder().load(new File(path)).build();
    }

    /** Runs the embedded ModelVerification block. Returns null when it passes, else the reason. */
    public static String verify(Evaluator evaluator) {
        try {
            evaluator.verify();
            return null;
        } catch (Exception e) {
            return "ModelVerification failed: " + e.getClass().getSimpleName() + ": " + e.getMessage();
        }
    }

    /** The names of the model's input fields, in MiningSchema order. */
    public static String[] inputFieldNames(Evaluator evaluator) {
        List<String> names = new ArrayList<>();
        for (InputField field : evaluator.getInputFields()) {
            names.add(field.getName());
        }
        return names.toArray(new String[0]);
    }

    /** A double as the Java value its field's data type expects; NaN means missing. */
    Object argument(int column, double value) {
        if (Double.isNaN(value)) {
            return null;
        }
        switch (inputTypes[column]) {
            case INTEGER:
                if (value == Math.rint(value)) {
                    return (long) value;
                }
                return value;
            case STRING:
                if (value == Math.rint(value) && Math.abs(value) < 1e15) {
                    return Long.toString((long) value);
                }
                return Double.toString(value);
            case FLOAT:
                return (float) value;
            default:
                return value;
        }
    }

    /** Evaluates one row of already-typed arguments (the plain Java loop body). */
    public Map<String, ?> evaluate(Map<String, Object> arguments) {
        return evaluator.evaluate(arguments);
    }

    /**
     * Scores nRows rows of a row-major flat array (nRows x inputNames.length) and returns each result
     * field's decoded numeric value, row-major nRows x resultNames.length; missing results are NaN.
     */
    public double[] score(double[] flat, int nRows, String[] resultNames) {
        int nIn = inputNames.length;
        int nOut = resultNames.length;
        if (flat.length != nRows * nIn) {
            throw new IllegalArgumentException("expected " + nRows * nIn + " values, got " + flat.length);
        }
        double[] out = new double[nRows * nOut];
        Map<String, Object> arguments = new HashMap<>(2 * nIn);
        for (int r = 0; r < nRows; r++) {
            arguments.clear();
            for (int c = 0; c < nIn; c++) {
                arguments.put(inputNames[c], argument(c, flat[r * nIn + c]));
            }
            Map<String, ?> results = evaluator.evaluate(arguments);
            for (int j = 0; j < nOut; j++) {
                out[r * nOut + j] = resultValue(resultNames[j], results.get(resultNames[j]));
            }
        }
        return out;
    }

    /**
     * As {@link #score}, for rows that hold strings (raw categorical columns): each cell is a String,
     * a Double (NaN or null is missing) or null.
     */
    public double[] scoreObjects(Object[] flat, int nRows, String[] resultNames) {
        int nIn = inputNames.length;
        int nOut = resultNames.length;
        if (flat.length != nRows * nIn) {
            throw new IllegalArgumentException("expected " + nRows * nIn + " values, got " + flat.length);
        }
        double[] out = new double[nRows * nOut];
        Map<String, Object> arguments = new HashMap<>(2 * nIn);
        for (int r = 0; r < nRows; r++) {
            arguments.clear();
            for (int c = 0; c < nIn; c++) {
                Object cell = flat[r * nIn + c];
                arguments.put(inputNames[c], cell instanceof Number ? argument(c, ((Number) cell).doubleValue()) : cell);
            }
            Map<String, ?> results = evaluator.evaluate(arguments);
            for (int j = 0; j < nOut; j++) {
                out[r * nOut + j] = resultValue(resultNames[j], results.get(resultNames[j]));
            }
        }
        return out;
    }

    static double resultValue(String name, Object value) {
        Object decoded = EvaluatorUtil.decode(value);
        if (decoded == null) {
            return Double.NaN;
        }
        if (decoded instanceof Number) {
            return ((Number) decoded).doubleValue();
        }
        if (decoded instanceof Boolean) {
            return ((Boolean) decoded) ? 1.0 : 0.0;
        }
        throw new IllegalArgumentException("result field '" + name + "' is not numeric (" + decoded + ")");
    }

    /** Whether the model embeds a ModelVerification block (verify() passes vacuously without one). */
    public static boolean hasVerification(Evaluator evaluator) {
        return evaluator instanceof ModelEvaluator
                && ((ModelEvaluator<?>) evaluator).getModel().getModelVerification() != null;
    }
}
